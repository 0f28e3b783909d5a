import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { migrateDown, migrateToLatest } from '../../src/db/migrate.ts'
import { createLogger } from '../../src/logger.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { indexFamily } from './fixtures/plan.ts'

const VIEWS = ['daily_task_rollup', 'task_attempt_v', 'task_history_v']

describe('migration 0002: reporting views', () => {
  let db: TestDatabase

  beforeAll(async () => {
    db = await createTestDatabase()
    // Two tasks yesterday (UTC), one today; a failed one with its error, retried once.
    await db.query(`
      insert into tasklane.task_history (task_id, task, queue, priority, status, error, attempts, max_attempts,
        created_at, start_after, started_at, finished_at, wait_ms, duration_ms)
      values
        ('00000000-0000-4000-8000-000000000001', 'mail', 'default', 20, 'completed', null, 1, 3,
         current_date - interval '1 day' + interval '1 hour', current_date - interval '1 day' + interval '1 hour',
         current_date - interval '1 day' + interval '1 hour 1 second',
         current_date - interval '1 day' + interval '1 hour 3 seconds', 1000, 2000),
        ('00000000-0000-4000-8000-000000000002', 'mail', 'default', 0, 'failed',
         '{"type":"SmtpError","message":"550 mailbox unavailable","retryable":true}', 2, 2,
         current_date - interval '1 day' + interval '2 hours', current_date - interval '1 day' + interval '2 hours',
         current_date - interval '1 day' + interval '2 hours', current_date - interval '1 day' + interval '2 hours 4 seconds', 0, 4000),
        ('00000000-0000-4000-8000-000000000003', 'mail', 'default', 30, 'completed', null, 1, 3,
         now() - interval '2 seconds', now() - interval '2 seconds', now() - interval '1 second', now(), 1000, 1000)`)
    await db.query(`
      insert into tasklane.task_attempt (task_id, attempt, task, queue, outcome, error, started_at, finished_at, duration_ms)
      values ('00000000-0000-4000-8000-000000000002', 1, 'mail', 'default', 'timeout', '{"type":"TaskTimeoutError","message":"timed out"}',
              current_date - interval '1 day' + interval '1 hour', current_date - interval '1 day' + interval '1 hour 5 seconds', 5000)`)
    // An install whose history starts yesterday and has not folded it into the rollup yet (migration
    // 0003_a): daily_task_rollup reads both days from history. test/stats/rollup.test.ts folds.
    await db.query(`update tasklane.rollup_state set folded_before = current_date - 1`)
  })
  afterAll(async () => {
    await db?.drop()
  })

  it('task_history_v spells out priority, error, wait, run and total times', async () => {
    const { rows } = await db.query(`select * from tasklane.task_history_v order by task_id`)
    expect(rows.map((r) => [r.priority, r.wait_ms, r.run_ms, Number(r.total_ms)])).toEqual([
      ['HIGH', 1000, 2000, 3000],
      ['LOW', 0, 4000, 4000],
      ['CRITICAL', 1000, 1000, 2000],
    ])
    expect(rows[1]).toMatchObject({
      status: 'failed',
      error_type: 'SmtpError',
      error_message: '550 mailbox unavailable',
    })
  })

  it('task_attempt_v lists failed attempts with their error', async () => {
    const { rows } = await db.query(`select * from tasklane.task_attempt_v`)
    expect(rows).toEqual([
      expect.objectContaining({
        attempt: 1,
        outcome: 'timeout',
        error_type: 'TaskTimeoutError',
        run_ms: 5000,
      }),
    ])
  })

  it('daily_task_rollup sums outcomes and percentiles per UTC day', async () => {
    const { rows } = await db.query(`
      select day::text, task, finished::int, completed::int, failed::int, error_rate::float8, p50_run_ms, avg_wait_ms::float8
      from tasklane.daily_task_rollup order by day`)
    const today = (await db.query(`select (now() at time zone 'UTC')::date::text as d`)).rows[0].d
    expect(rows.at(-1)).toMatchObject({ day: today, finished: 1, completed: 1, failed: 0, error_rate: 0 })
    expect(rows[0]).toMatchObject({
      task: 'mail',
      finished: 2,
      completed: 1,
      failed: 1,
      error_rate: 0.5,
      p50_run_ms: 3000,
      avg_wait_ms: 500,
    })
  })

  it('a day filter on the rollup reads the day index, not the whole table', async () => {
    // On a table this small a scan is cheapest: forbid it, on one session, to see the index is usable.
    const client = new pg.Client({ connectionString: db.url })
    await client.connect()
    await client.query('set enable_seqscan = off')
    const { rows } = await client.query(
      `explain select * from tasklane.daily_task_rollup where day >= current_date - 7`,
    )
    await client.end()
    const plan = rows.map((r) => r['QUERY PLAN']).join('\n')
    const family = await indexFamily((q) => db.query(q), 'tasklane.task_history_finished_day')
    expect(family.length).toBeGreaterThan(1) // the parent's, and each partition's
    expect(family.some((name) => plan.includes(` ${name} `))).toBe(true)
  })

  it('migrates down and up again', async () => {
    const opts = {
      connectionString: db.url,
      schema: 'tasklane',
      bossSchema: 'pgboss',
      dbBackend: 'postgres' as const,
      log: createLogger('silent'),
    }
    const views = async () =>
      (
        await db.query(
          `select table_name from information_schema.views where table_schema = 'tasklane' order by 1`,
        )
      ).rows.map((r) => r.table_name)
    // Revert down to (and including) 0002, whatever later migrations exist.
    const reverted: string[] = []
    while (!reverted.includes('0002_reporting_views')) reverted.push(...(await migrateDown(opts)))
    expect(reverted.slice(-2)).toEqual(['0003_a_task_rollup', '0002_reporting_views'])
    expect(await views()).toEqual([])
    expect(await migrateToLatest(opts)).toEqual(reverted.toReversed())
    expect(await views()).toEqual(VIEWS)
    // Re-applied on a populated database, the rollup starts folding from the oldest history day.
    const { rows } = await db.query(
      `select folded_before = current_date - 1 as from_oldest from tasklane.rollup_state`,
    )
    expect(rows).toEqual([{ from_oldest: true }])
  })
})
