import type { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../../src/http/app.ts'
import type { TasksEnv } from '../../src/http/with-tasks.ts'
import type { Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'
import { call } from './helpers/call.ts'
import { rowCounts } from './helpers/row-counts.ts'

const report = defineTask({ name: 'report', async run() {} })
const other = defineTask({ name: 'other', queue: 'side', async run() {} })

describe('GET /tasks, GET /tasks/:id, cancel and retry', () => {
  let db: TestDatabase
  let tasks: Tasklane
  let app: Hono<TasksEnv>
  const ids: string[] = []

  beforeAll(async () => {
    db = await createTestDatabase()
    tasks = await startTasklane(db.url, [report, other], { workers: 0 })
    app = createApp({ tasks })
    for (let i = 0; i < 5; i++) ids.push((await tasks.addTask(report, { i })).taskId)
    await tasks.addTask(other, {})
  })
  afterAll(async () => {
    await tasks?.stop()
    await db?.drop()
  })

  it('GET /tasks/:id answers the TaskInfo', async () => {
    const res = await call(app, 'GET', `/tasks/${ids[0]}`)
    expect(res.status).toBe(200)
    expect(res.json).toMatchObject({
      taskId: ids[0],
      task: 'report',
      status: 'queued',
      args: { i: 0 },
      attempts: 0,
    })
  })

  it.each([
    ['an unknown id', '00000000-0000-4000-8000-000000000000'],
    ['a malformed id', 'not-a-uuid'],
  ])('GET /tasks/:id with %s is a 404', async (_what, id) => {
    const res = await call(app, 'GET', `/tasks/${id}`)
    expect(res.status).toBe(404)
    expect(res.json.error.code).toBe('not_found')
  })

  it('pages through GET /tasks with limit and cursor, newest first', async () => {
    const seen: string[] = []
    let cursor: string | null = null
    do {
      const res = await call(app, 'GET', `/tasks?task=report&limit=2${cursor ? `&cursor=${cursor}` : ''}`)
      expect(res.status).toBe(200)
      expect(res.json.items.length).toBeLessThanOrEqual(2)
      seen.push(...res.json.items.map((t: { taskId: string }) => t.taskId))
      cursor = res.json.nextCursor
    } while (cursor)
    expect(seen).toEqual([...ids].reverse())
  })

  it('filters by status and queue', async () => {
    const side = await call(app, 'GET', '/tasks?queue=side')
    expect(side.json.items.map((t: { task: string }) => t.task)).toEqual(['other'])
    const done = await call(app, 'GET', '/tasks?status=completed')
    expect(done.json.items).toEqual([])
  })

  it.each([
    ['limit over 500', '/tasks?limit=501', 'limit'],
    ['limit 0', '/tasks?limit=0', 'limit'],
    ['a non-numeric limit', '/tasks?limit=many', 'limit'],
    ['an unknown status', '/tasks?status=done', 'status'],
    ['a forged cursor', '/tasks?cursor=bm90LWEtY3Vyc29y', 'cursor'],
  ])('GET /tasks with %s is a 400 naming the field', async (_what, path, field) => {
    const res = await call(app, 'GET', path)
    expect(res.status).toBe(400)
    expect(res.json.error.code).toBe('validation_failed')
    expect(res.json.error.details.map((d: { path: string }) => d.path)).toContain(field)
  })

  it('cancels a queued task (200 TaskInfo), then refuses to cancel it again (409)', async () => {
    const id = ids[1]!
    const res = await call(app, 'POST', `/tasks/${id}/cancel`)
    expect(res.status).toBe(200)
    expect(res.json).toMatchObject({ taskId: id, status: 'cancelled' })
    const before = await rowCounts(db)
    const again = await call(app, 'POST', `/tasks/${id}/cancel`)
    expect(again.status).toBe(409)
    expect(again.json.error.code).toBe('state_conflict')
    expect(await rowCounts(db)).toEqual(before)
  })

  it('retries a cancelled task (200, queued again); retrying a queued task is a 409', async () => {
    const id = ids[2]!
    await call(app, 'POST', `/tasks/${id}/cancel`)
    const res = await call(app, 'POST', `/tasks/${id}/retry`)
    expect(res.status).toBe(200)
    expect(res.json).toMatchObject({ taskId: id, status: 'queued' })
    const before = await rowCounts(db)
    const again = await call(app, 'POST', `/tasks/${id}/retry`)
    expect(again.status).toBe(409)
    expect(again.json.error.code).toBe('state_conflict')
    expect(await rowCounts(db)).toEqual(before)
  })

  it.each(['cancel', 'retry'])('POST /tasks/:id/%s of an unknown or malformed id is a 404', async (verb) => {
    const before = await rowCounts(db)
    for (const id of ['00000000-0000-4000-8000-000000000000', 'nope']) {
      const res = await call(app, 'POST', `/tasks/${id}/${verb}`)
      expect(res.status).toBe(404)
      expect(res.json.error.code).toBe('not_found')
    }
    expect(await rowCounts(db)).toEqual(before)
  })
})
