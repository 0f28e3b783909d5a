import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../../src/http/app.ts'
import type { Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'
import { call } from './helpers/call.ts'

const seen = new Map<string, number>()
const shaky = defineTask({
  name: 'shaky',
  retry: { limit: 1, delay: 0 },
  async run(args: { key: string }) {
    const n = (seen.get(args.key) ?? 0) + 1
    seen.set(args.key, n)
    throw new Error(`run ${n} of ${args.key} failed`)
  },
})

describe('GET /tasks/:id attempts, GET /workers, POST /tasks/:name/retry-failed', () => {
  let db: TestDatabase
  let tasks: Tasklane
  let app: ReturnType<typeof createApp>

  beforeAll(async () => {
    db = await createTestDatabase()
    tasks = await startTasklane(db.url, [shaky], { queues: { default: { concurrency: 2 } } })
    app = createApp({ tasks })
  })
  afterAll(async () => {
    await tasks?.stop()
    await db?.drop()
  })

  it('lists every failed attempt of a task with its timings and error', async () => {
    const { taskId } = await tasks.addTask(shaky, { key: 'a' })
    await tasks.waitFor(taskId)
    const res = await call(app, 'GET', `/tasks/${taskId}`)
    expect(res.status).toBe(200)
    expect(res.json.status).toBe('failed')
    expect(res.json.attemptsHistory.map((a: { attempt: number }) => a.attempt)).toEqual([1, 2])
    expect(res.json.attemptsHistory[0]).toMatchObject({
      outcome: 'failed',
      error: { message: 'run 1 of a failed' },
    })
    expect(typeof res.json.attemptsHistory[1].durationMs).toBe('number')
  })

  it('lists the live worker processes with their slots', async () => {
    const res = await call(app, 'GET', '/workers')
    expect(res.status).toBe(200)
    expect(res.json.items).toEqual([
      expect.objectContaining({
        id: tasks.workerId,
        pid: process.pid,
        concurrency: 2,
        queues: { default: 2 },
      }),
    ])
  })

  it('retries every failed task of a name, and 404s an unknown name', async () => {
    const more = await tasks.addTasks(shaky, [{ key: 'b' }, { key: 'c' }])
    await Promise.all(more.map((m) => tasks.waitFor(m.taskId)))
    const res = await call(app, 'POST', '/tasks/shaky/retry-failed')
    expect(res.status).toBe(200)
    expect(res.json.retried).toBe(3)
    await Promise.all(more.map((m) => tasks.waitFor(m.taskId)))
    expect(seen.get('b')).toBe(3)
    expect((await call(app, 'POST', '/tasks/nope/retry-failed')).status).toBe(404)
  })
})
