import { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { TasklaneError } from '../../src/errors.ts'
import { tasklaneRoutes } from '../../src/http/routes.ts'
import type { Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'

// Idempotency keys compare what a request means, not how it is spelled (issue 15, kind 5).

const remind = defineTask({
  name: 'remind',
  schema: z.object({ userId: z.string(), tags: z.array(z.string()).optional() }),
  retry: { limit: 2, delay: '1s' },
  async run(args) {
    return args
  },
})

describe('idempotency compares a canonical form of the request', () => {
  let db: TestDatabase
  let tasks: Tasklane
  let app: Hono
  let n = 0
  const key = () => `canon-${++n}`

  beforeAll(async () => {
    db = await createTestDatabase()
    tasks = await startTasklane(db.url, [remind], { workers: 0 })
    app = new Hono().route('/', tasklaneRoutes(tasks))
  })
  afterAll(async () => {
    await tasks?.stop()
    await db?.drop()
  })

  const jobs = async () => (await db.query(`select count(*)::int as n from pgboss.job`)).rows[0].n as number

  async function sameTask(first: object, second: object, args2: object = { userId: 'u' }) {
    const k = key()
    const a = await tasks.addTask(remind, { userId: 'u' }, { ...first, idempotencyKey: k })
    const b = await tasks.addTask(remind, args2 as { userId: string }, { ...second, idempotencyKey: k })
    expect(a.deduplicated).toBe(false)
    expect(b).toMatchObject({ taskId: a.taskId, deduplicated: true })
  }

  async function conflicts(first: object, second: object, args2: object = { userId: 'u' }) {
    const k = key()
    await tasks.addTask(remind, { userId: 'u' }, { ...first, idempotencyKey: k })
    const before = await jobs()
    const err = await tasks
      .addTask(remind, args2 as { userId: string }, { ...second, idempotencyKey: k })
      .catch((e) => e)
    expect(err).toBeInstanceOf(TasklaneError)
    expect(err).toMatchObject({ code: 'idempotency_conflict', status: 409 })
    expect(await jobs()).toBe(before)
  }

  it("deduplicates { delay: '10s' } and { delay: 10000 }", () =>
    sameTask({ delay: '10s' }, { delay: 10_000 }))
  it("deduplicates { delay: '1.5s' } and { delay: '1500ms' }", () =>
    sameTask({ delay: '1.5s' }, { delay: '1500ms' }))
  it('deduplicates no delay and delay 0', () => sameTask({}, { delay: 0 }))

  it("deduplicates startAfter '…00Z', '…00.000Z', '…+01:00' and the same Date", async () => {
    const k = key()
    const spellings = [
      '2031-01-01T00:00:00Z',
      '2031-01-01T00:00:00.000Z',
      '2031-01-01T01:00:00+01:00',
      new Date(Date.UTC(2031, 0, 1)),
    ]
    const results = []
    for (const startAfter of spellings) {
      results.push(await tasks.addTask(remind, { userId: 'u' }, { startAfter, idempotencyKey: k }))
    }
    expect(new Set(results.map((r) => r.taskId)).size).toBe(1)
    expect(results.map((r) => r.deduplicated)).toEqual([false, true, true, true])
  })

  it('deduplicates an omitted priority and the task default spelled out', () =>
    sameTask({}, { priority: 'normal' }))
  it('deduplicates an omitted retry and the task default spelled out', () =>
    sameTask({}, { retry: { limit: 2, delay: 1000, backoff: 'fixed' } }))
  it('deduplicates args whose keys come in another order', async () => {
    const k = key()
    const a = await tasks.addTask(remind, { userId: 'u', tags: ['x'] }, { idempotencyKey: k })
    const b = await tasks.addTask(remind, { tags: ['x'], userId: 'u' }, { idempotencyKey: k })
    expect(b).toMatchObject({ taskId: a.taskId, deduplicated: true })
  })

  it('conflicts on a different delay', () => conflicts({ delay: '10s' }, { delay: '10001ms' }))
  it('conflicts on delay versus an absolute startAfter', () =>
    conflicts({ delay: '10s' }, { startAfter: '2031-01-01T00:00:00Z' }))
  it('conflicts on a start one millisecond later', () =>
    conflicts({ startAfter: '2031-01-01T00:00:00.000Z' }, { startAfter: '2031-01-01T00:00:00.001Z' }))
  it('conflicts on a different priority', () => conflicts({}, { priority: 'high' }))
  it('conflicts on a different retry policy', () => conflicts({}, { retry: { limit: 5 } }))
  it('conflicts on different args', () => conflicts({}, {}, { userId: 'v' }))
  it('conflicts on args that differ only in array order', () => conflicts({}, {}, { userId: 'u', tags: [] }))

  it('deduplicates over HTTP across spellings of delay and startAfter', async () => {
    const post = (body: object, k: string) =>
      app.request('/tasks/remind', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': k },
        body: JSON.stringify(body),
      })
    const k1 = key()
    const a = await post({ args: { userId: 'h' }, delay: '10s' }, k1)
    const b = await post({ args: { userId: 'h' }, delay: 10000 }, k1)
    expect(a.status).toBe(202)
    expect(b.status).toBe(200)
    expect(((await b.json()) as { taskId: string }).taskId).toBe(
      ((await a.json()) as { taskId: string }).taskId,
    )
    const k2 = key()
    const c = await post({ args: { userId: 'h' }, startAfter: '2031-01-01T00:00:00Z' }, k2)
    const d = await post({ args: { userId: 'h' }, startAfter: '2031-01-01T00:00:00.000Z' }, k2)
    expect([c.status, d.status]).toEqual([202, 200])
    const e = await post({ args: { userId: 'h' }, startAfter: '2031-01-01T00:00:01Z' }, k2)
    expect(e.status).toBe(409)
    expect(((await e.json()) as { error: { code: string } }).error.code).toBe('idempotency_conflict')
  })

  it('stores the hash the SQL function computes for the documented canonical form', async () => {
    const k = key()
    const { taskId } = await tasks.addTask(
      remind,
      { userId: 'sql', tags: ['a'] },
      { idempotencyKey: k, priority: 'high', startAfter: '2031-01-01T00:00:00Z' },
    )
    // Built in SQL, as an SQL enqueue path would: effective values, durations in ms, instant in epoch ms.
    const { rows } = await db.query(
      `select k.task_id, k.request_hash = tasklane.idempotency_request_hash(jsonb_build_object(
         'task', 'remind', 'queue', 'default', 'args', '{"tags":["a"],"userId":"sql"}'::jsonb,
         'priority', 'HIGH',
         'startAfter', (extract(epoch from timestamptz '2031-01-01 00:00:00+00') * 1000)::bigint,
         'delay', null,
         'retry', jsonb_build_object('limit', 2, 'delay', 1000, 'backoff', 'fixed', 'maxDelay', null)
       )) as same
       from tasklane.idempotency_key k where k.key = $1`,
      [k],
    )
    expect(rows).toEqual([{ task_id: taskId, same: true }])
  })

  it('deduplicates a repeated key inside one batch and conflicts on a different one', async () => {
    const k = key()
    const post = (items: object[]) =>
      app.request('/tasks/remind/batch', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ items }),
      })
    const ok = await post([
      { args: { userId: 'b' }, delay: '2s', idempotencyKey: k },
      { args: { userId: 'b' }, delay: 2000, idempotencyKey: k },
    ])
    expect(ok.status).toBe(202)
    const { items } = (await ok.json()) as { items: { taskId: string }[] }
    expect(items[1]).toMatchObject({ taskId: items[0]!.taskId, deduplicated: true })
    const bad = await post([
      { args: { userId: 'c' }, idempotencyKey: `${k}-x` },
      { args: { userId: 'd' }, idempotencyKey: `${k}-x` },
    ])
    expect(bad.status).toBe(409)
  })
})
