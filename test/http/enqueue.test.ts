import type { Hono } from 'hono'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { createApp } from '../../src/http/app.ts'
import type { TasksEnv } from '../../src/http/with-tasks.ts'
import type { Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'
import { call } from './helpers/call.ts'
import { rowCounts } from './helpers/row-counts.ts'

const sendReminder = defineTask({
  name: 'send-reminder',
  schema: z.object({ userId: z.string() }),
  async run() {
    return { sent: true }
  },
})
const ping = defineTask({ name: 'ping', async run() {} })

describe('POST /tasks/:name and /tasks/:name/batch', () => {
  let db: TestDatabase
  let tasks: Tasklane
  let app: Hono<TasksEnv>

  beforeAll(async () => {
    db = await createTestDatabase()
    tasks = await startTasklane(db.url, [sendReminder, ping], {
      workers: 0,
      env: { TASKLANE_MAX_BODY: '2kb' },
    })
    app = createApp({ tasks })
  })
  afterAll(async () => {
    await tasks?.stop()
    await db?.drop()
  })

  it('enqueues: 202 with the taskId, and the task is readable', async () => {
    const res = await call(app, 'POST', '/tasks/send-reminder', {
      json: { args: { userId: 'u1' }, priority: 'high' },
    })
    expect(res.status).toBe(202)
    expect(res.json).toMatchObject({
      task: 'send-reminder',
      queue: 'default',
      priority: 'HIGH',
      status: 'queued',
      deduplicated: false,
    })
    expect(res.headers.get('location')).toBe(`./${res.json.taskId}`)
    const info = await call(app, 'GET', `/tasks/${res.json.taskId}`)
    expect(info.status).toBe(200)
    expect(info.json).toMatchObject({
      taskId: res.json.taskId,
      status: 'queued',
      args: { userId: 'u1' },
      priority: 'HIGH',
    })
  })

  it('a delay makes the task scheduled', async () => {
    const res = await call(app, 'POST', '/tasks/send-reminder', {
      json: { args: { userId: 'u2' }, delay: '10m' },
    })
    expect(res.status).toBe(202)
    expect(res.json.status).toBe('scheduled')
    const { rows } = await db.query(
      "select start_after > now() + interval '9 minutes' as later from pgboss.job where id = $1",
      [res.json.taskId],
    )
    expect(rows[0].later).toBe(true)
  })

  it('an empty body without Content-Type enqueues a task without args', async () => {
    const res = await call(app, 'POST', '/tasks/ping')
    expect(res.status).toBe(202)
    expect((await tasks.getTask(res.json.taskId))?.args).toBeNull()
  })

  it('the same Idempotency-Key again answers 200 with the same taskId, and writes once', async () => {
    const send = () =>
      call(app, 'POST', '/tasks/send-reminder', {
        json: { args: { userId: 'u3' } },
        headers: { 'Idempotency-Key': 'reminder:u3' },
      })
    const first = await send()
    const before = await rowCounts(db)
    const again = await send()
    expect(first.status).toBe(202)
    expect(again.status).toBe(200)
    expect(again.json).toMatchObject({ taskId: first.json.taskId, deduplicated: true })
    expect(await rowCounts(db)).toEqual(before)
  })

  it('idempotencyKey in the body works the same way', async () => {
    const body = { args: { userId: 'u4' }, idempotencyKey: 'reminder:u4' }
    const first = await call(app, 'POST', '/tasks/send-reminder', { json: body })
    const again = await call(app, 'POST', '/tasks/send-reminder', { json: body })
    expect([first.status, again.status]).toEqual([202, 200])
    expect(again.json.taskId).toBe(first.json.taskId)
  })

  it('enqueues a batch: 202 with one result per item, in order', async () => {
    const before = await rowCounts(db)
    const res = await call(app, 'POST', '/tasks/send-reminder/batch', {
      json: {
        items: [
          { args: { userId: 'b1' } },
          { args: { userId: 'b2' }, priority: 'low' },
          { args: { userId: 'b3' }, delay: '1h' },
        ],
      },
    })
    expect(res.status).toBe(202)
    expect(res.json.items.map((i: { priority: string; status: string }) => [i.priority, i.status])).toEqual([
      ['NORMAL', 'queued'],
      ['LOW', 'queued'],
      ['NORMAL', 'scheduled'],
    ])
    expect(new Set(res.json.items.map((i: { taskId: string }) => i.taskId)).size).toBe(3)
    expect((await rowCounts(db))['pgboss.job']).toBe(before['pgboss.job']! + 3)
  })

  describe('a rejected request writes nothing', () => {
    let before: Record<string, number>
    beforeEach(async () => {
      // One key in use, so that reusing it with another body can be tried.
      await call(app, 'POST', '/tasks/send-reminder', {
        json: { args: { userId: 'k' }, idempotencyKey: 'taken' },
      })
      before = await rowCounts(db)
    })

    const cases: Array<[string, () => ReturnType<typeof call>, number, string, string?]> = [
      [
        'malformed JSON',
        () =>
          call(app, 'POST', '/tasks/send-reminder', {
            body: '{"args": {',
            headers: { 'content-type': 'application/json' },
          }),
        400,
        'malformed_json',
      ],
      [
        'args missing a field',
        () => call(app, 'POST', '/tasks/send-reminder', { json: { args: {} } }),
        400,
        'validation_failed',
        'args.userId',
      ],
      [
        'args of the wrong type',
        () => call(app, 'POST', '/tasks/send-reminder', { json: { args: { userId: 7 } } }),
        400,
        'validation_failed',
        'args.userId',
      ],
      [
        'an unknown priority',
        () =>
          call(app, 'POST', '/tasks/send-reminder', { json: { args: { userId: 'x' }, priority: 'urgent' } }),
        400,
        'validation_failed',
        'priority',
      ],
      [
        'a malformed delay',
        () => call(app, 'POST', '/tasks/send-reminder', { json: { args: { userId: 'x' }, delay: 'soon' } }),
        400,
        'validation_failed',
        'delay',
      ],
      [
        'a malformed startAfter',
        () =>
          call(app, 'POST', '/tasks/send-reminder', {
            json: { args: { userId: 'x' }, startAfter: 'tomorrow' },
          }),
        400,
        'validation_failed',
        'startAfter',
      ],
      [
        'an unknown body field',
        () => call(app, 'POST', '/tasks/send-reminder', { json: { arg: { userId: 'x' } } }),
        400,
        'validation_failed',
        'arg',
      ],
      [
        'a body that is not an object',
        () => call(app, 'POST', '/tasks/send-reminder', { json: [1, 2] }),
        400,
        'validation_failed',
        'body',
      ],
      [
        'header and body keys that differ',
        () =>
          call(app, 'POST', '/tasks/send-reminder', {
            json: { args: { userId: 'x' }, idempotencyKey: 'a' },
            headers: { 'idempotency-key': 'b' },
          }),
        400,
        'validation_failed',
        'idempotencyKey',
      ],
      [
        'one invalid item in a batch',
        () =>
          call(app, 'POST', '/tasks/send-reminder/batch', {
            json: { items: [{ args: { userId: 'ok' } }, { args: {} }] },
          }),
        400,
        'validation_failed',
        'items.1.args.userId',
      ],
      [
        'an empty batch',
        () => call(app, 'POST', '/tasks/send-reminder/batch', { json: { items: [] } }),
        400,
        'validation_failed',
        'items',
      ],
      [
        'a batch with an Idempotency-Key header',
        () =>
          call(app, 'POST', '/tasks/send-reminder/batch', {
            json: { items: [{ args: { userId: 'x' } }] },
            headers: { 'idempotency-key': 'k' },
          }),
        400,
        'validation_failed',
      ],
      [
        'an unknown task name',
        () => call(app, 'POST', '/tasks/no-such-task', { json: { args: {} } }),
        404,
        'unknown_task',
      ],
      [
        'an unknown task name in a batch',
        () => call(app, 'POST', '/tasks/no-such-task/batch', { json: { items: [{ args: {} }] } }),
        404,
        'unknown_task',
      ],
      [
        'a key reused with another body',
        () =>
          call(app, 'POST', '/tasks/send-reminder', {
            json: { args: { userId: 'other' }, idempotencyKey: 'taken' },
          }),
        409,
        'idempotency_conflict',
      ],
      [
        'a key reused twice in a batch with different bodies',
        () =>
          call(app, 'POST', '/tasks/send-reminder/batch', {
            json: {
              items: [
                { args: { userId: '1' }, idempotencyKey: 'dup' },
                { args: { userId: '2' }, idempotencyKey: 'dup' },
              ],
            },
          }),
        409,
        'idempotency_conflict',
      ],
      [
        'a body over the limit',
        () => call(app, 'POST', '/tasks/send-reminder', { json: { args: { userId: 'x'.repeat(4096) } } }),
        413,
        'payload_too_large',
      ],
      [
        'a batch over the limit',
        () =>
          call(app, 'POST', '/tasks/send-reminder/batch', {
            json: { items: Array.from({ length: 200 }, (_, i) => ({ args: { userId: `u${i}` } })) },
          }),
        413,
        'payload_too_large',
      ],
      [
        'a body that is not JSON',
        () =>
          call(app, 'POST', '/tasks/send-reminder', {
            body: 'userId=u1',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
          }),
        415,
        'unsupported_media_type',
      ],
      [
        'a JSON text sent as text/plain',
        () =>
          call(app, 'POST', '/tasks/send-reminder', {
            body: '{"args":{"userId":"x"}}',
            headers: { 'content-type': 'text/plain' },
          }),
        415,
        'unsupported_media_type',
      ],
    ]

    it.each(cases)('%s', async (_name, send, status, code, path) => {
      const res = await send()
      expect(res.status).toBe(status)
      expect(res.json.error).toMatchObject({ code })
      expect(typeof res.json.error.message).toBe('string')
      expect(Array.isArray(res.json.error.details)).toBe(true)
      if (path) expect(res.json.error.details.map((d: { path: string }) => d.path)).toContain(path)
      expect(await rowCounts(db)).toEqual(before)
    })
  })
})
