import type { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../../src/http/app.ts'
import type { TasksEnv } from '../../src/http/with-tasks.ts'
import type { Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { call } from '../http/helpers/call.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'

const tasks = ['resize', 'email'].map((name) => defineTask({ name, async run() {} }))

/**
 * History placed in whole past hours (buckets start on the hour, UTC): `hoursAgo` 1 is the hour before
 * the current one. Wait and run times are given, so every percentile is known exactly.
 */
async function finished(
  db: TestDatabase,
  task: string,
  status: string,
  hoursAgo: number,
  waitMs: number,
  runMs: number,
) {
  await db.query(
    `with t as (select date_bin('1 hour', now(), 'epoch') - make_interval(hours => $3::int) + interval '10 minutes' as f)
     insert into tasklane.task_history (task_id, task, queue, priority, status, attempts, max_attempts,
       created_at, start_after, started_at, finished_at, wait_ms, duration_ms)
     select gen_random_uuid(), $1, 'default', 10, $2, 1, 3,
       f - make_interval(secs => ($4::int + $5::int) / 1000.0), f - make_interval(secs => ($4::int + $5::int) / 1000.0),
       f - make_interval(secs => $5::int / 1000.0), f, $4::int, $5::int
     from t`,
    [task, status, hoursAgo, waitMs, runMs],
  )
}

describe('GET /analytics', () => {
  let db: TestDatabase
  let api: Tasklane
  let app: Hono<TasksEnv>

  beforeAll(async () => {
    db = await createTestDatabase()
    api = await startTasklane(db.url, tasks, { workers: 0 })
    app = createApp({ tasks: api })
    // 2 hours ago: resize 3 completed + 1 failed (run 100..400 ms, wait 10..40 ms), and one retried attempt.
    for (const [i, status] of ['completed', 'completed', 'completed', 'failed'].entries()) {
      await finished(db, 'resize', status, 2, (i + 1) * 10, (i + 1) * 100)
    }
    await db.query(`insert into tasklane.task_attempt (task_id, attempt, task, queue, outcome, started_at, finished_at)
      values (gen_random_uuid(), 1, 'resize', 'default', 'failed', date_bin('1 hour', now(), 'epoch') - interval '2 hours',
              date_bin('1 hour', now(), 'epoch') - interval '2 hours' + interval '1 minute')`)
    // 1 hour ago: email 2 completed; resize 1 cancelled.
    await finished(db, 'email', 'completed', 1, 5, 50)
    await finished(db, 'email', 'completed', 1, 15, 150)
    await finished(db, 'resize', 'cancelled', 1, 0, 0)
    // Outside a 4h window.
    await finished(db, 'email', 'failed', 6, 1, 1)
  })
  afterAll(async () => {
    await api?.stop()
    await db?.drop()
  })

  it('answers per task name and hour: counts, retries, throughput, percentiles, error rate', async () => {
    const res = await call(app, 'GET', '/analytics?window=4h&bucket=1h')
    expect(res.status).toBe(200)
    expect(res.json).toMatchObject({ window: '4h', bucket: '1h' })
    const rows = res.json.rows
    expect(rows.map((r: { task: string }) => r.task)).toEqual(['resize', 'email', 'resize'])
    const [resize2, email1, resize1] = rows
    expect(Date.parse(resize1.bucket) - Date.parse(resize2.bucket)).toBe(3_600_000)
    expect(new Date(resize2.bucket).getUTCMinutes()).toBe(0)
    expect(resize2).toMatchObject({
      completed: 3,
      failed: 1,
      cancelled: 0,
      retried: 1,
      throughput: Number((4 / 3600).toFixed(4)),
      errorRate: 0.25,
      runP50Ms: 250,
      runP95Ms: 385,
      runP99Ms: 397,
      waitP50Ms: 25,
      waitP95Ms: 38.5,
      waitP99Ms: 39.7,
    })
    expect(email1).toMatchObject({
      completed: 2,
      failed: 0,
      retried: 0,
      errorRate: 0,
      runP50Ms: 100,
      waitP50Ms: 10,
    })
    expect(resize1).toMatchObject({ completed: 0, failed: 0, cancelled: 1, runP50Ms: null, errorRate: 0 })
  })

  it('filters by task, and defaults to a 24h window of 1h buckets', async () => {
    const res = await call(app, 'GET', '/analytics?task=email')
    expect(res.json).toMatchObject({ window: '24h', bucket: '1h' })
    expect(
      res.json.rows.map((r: { task: string; completed: number; failed: number }) => [
        r.task,
        r.completed,
        r.failed,
      ]),
    ).toEqual([
      ['email', 0, 1],
      ['email', 2, 0],
    ])
  })

  it.each([
    ['a malformed window', '/analytics?window=yesterday', 'window'],
    ['a zero bucket', '/analytics?bucket=0s', 'bucket'],
    ['a bucket larger than the window', '/analytics?window=1h&bucket=2h', 'bucket'],
    ['too many buckets', '/analytics?window=30d&bucket=1s', 'bucket'],
    ['a window over 36500 days', '/analytics?window=40000d&bucket=100d', 'window'],
  ])('rejects %s with a 400 naming the field', async (_what, path, field) => {
    const res = await call(app, 'GET', path)
    expect(res.status).toBe(400)
    expect(res.json.error.code).toBe('validation_failed')
    expect(res.json.error.details[0].path).toBe(field)
  })
})
