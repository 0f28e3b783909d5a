import type { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../../src/http/app.ts'
import type { TasksEnv } from '../../src/http/with-tasks.ts'
import { engineOf } from '../../src/internal.ts'
import type { Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'
import { call } from './helpers/call.ts'
import { rowCounts } from './helpers/row-counts.ts'
import { TcpProxy } from './helpers/tcp-proxy.ts'

const note = defineTask({ name: 'note', async run() {} })

describe('while the database is unreachable', () => {
  let db: TestDatabase
  let proxy: TcpProxy
  let tasks: Tasklane
  let app: Hono<TasksEnv>
  let taskId: string

  beforeAll(async () => {
    db = await createTestDatabase()
    proxy = new TcpProxy(db.url)
    await proxy.start()
    tasks = await startTasklane(proxy.urlFor(db.url), [note], { workers: 0, supervise: false })
    app = createApp({ tasks })
    ;({ taskId } = await tasks.addTask(note, {}))
  })
  afterAll(async () => {
    await proxy?.start().catch(() => {})
    await tasks?.stop({ timeout: '1s' })
    await proxy?.stop()
    await db?.drop()
  })

  it('answers 503 with Retry-After (never 500), writes nothing, and recovers when it is back', async () => {
    const before = await rowCounts(db)
    await proxy.stop()
    const requests: Array<[string, string, object?]> = [
      ['POST', '/tasks/note', { json: { args: {} } }],
      ['POST', '/tasks/note', { json: { args: {}, idempotencyKey: 'k1' } }],
      ['POST', '/tasks/note/batch', { json: { items: [{ args: {} }] } }],
      ['GET', `/tasks/${taskId}`],
      ['GET', '/tasks'],
      ['POST', `/tasks/${taskId}/cancel`],
      ['GET', '/stats'],
      ['GET', '/analytics'],
      ['GET', '/metrics'],
      ['GET', `/tasks/${taskId}/events`],
    ]
    for (const [method, path, o] of requests) {
      const res = await call(app, method, path, o)
      expect([method, path, res.status]).toEqual([method, path, 503])
      expect(res.json.error.code).toBe('database_unavailable')
      expect(res.headers.get('retry-after')).toBe('5')
    }
    const ready = await call(app, 'GET', '/ready')
    expect(ready.status).toBe(503)
    await proxy.start()
    expect(await rowCounts(db)).toEqual(before)
    const back = await call(app, 'GET', `/tasks/${taskId}`)
    expect(back.status).toBe(200)
  })
})

describe('while every connection of the pool is busy', () => {
  let db: TestDatabase
  let tasks: Tasklane
  let app: Hono<TasksEnv>

  beforeAll(async () => {
    db = await createTestDatabase()
    tasks = await startTasklane(db.url, [note], { workers: 0, supervise: false, poolSize: 1 })
    app = createApp({ tasks })
  })
  afterAll(async () => {
    await tasks?.stop({ timeout: '1s' })
    await db?.drop()
  })

  it('answers 503 with Retry-After, saying the pool is busy rather than the database unreachable', async () => {
    const { taskId } = await tasks.addTask(note, {})
    let release = () => {}
    const held = new Promise<void>((r) => (release = r))
    // The pool's one connection, held until the request has been answered.
    let holding = () => {}
    const holds = new Promise<void>((r) => (holding = r))
    const holder = engineOf(tasks)
      .db.connection()
      .execute(async () => {
        holding()
        await held
      })
    await holds
    try {
      const res = await call(app, 'GET', `/tasks/${taskId}`)
      expect(res.status).toBe(503)
      expect(res.headers.get('retry-after')).toBe('5')
      expect(res.json.error.code).toBe('database_unavailable')
      expect(res.json.error.message).toMatch(/^no database connection came free in time: .*pool is busy/)
      expect(res.json.error.message).not.toMatch(/unreachable/)
    } finally {
      release()
      await holder
    }
    expect((await call(app, 'GET', `/tasks/${taskId}`)).status).toBe(200)
  })
})
