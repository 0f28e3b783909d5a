import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDb, type Db } from '../../src/db/create-db.ts'
import { dropExpiredPartitions } from '../../src/history/partition.repository.ts'
import { foldNextDay, rollupState } from '../../src/history/rollup.repository.ts'
import { createLogger } from '../../src/logger.ts'
import { BossJobReads } from '../../src/queue/job-reads.repository.ts'
import { Maintenance } from '../../src/worker/maintenance.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { jobStoreFor } from '../support/job-store.ts'
import { startTasklane } from '../support/tasklane.ts'
import { fillHistory } from './fixtures/fill-history.ts'

const DAY = 86_400_000
/** Documented bound of the histograms: a bucket's value is within 2^(1/16) - 1 of all its samples. */
const SKETCH_ERROR = 2 ** (1 / 16) - 1

function maintenance(db: Db, retention: { completedMs: number; failedMs: number; rollupMs?: number }) {
  return new Maintenance({
    db: db.kysely,
    store: jobStoreFor(db.kysely, { bossSchema: 'pgboss', schema: 'tasklane' }),
    queues: () => ['default'],
    config: {
      schema: 'tasklane',
      retentionCompletedMs: retention.completedMs,
      retentionFailedMs: retention.failedMs,
      retentionRollupMs: retention.rollupMs ?? 730 * DAY,
    },
    log: createLogger('silent'),
    // Days end at UTC midnight; no grace, so a run just after midnight folds yesterday like any other.
    foldGraceMs: 0,
  })
}

/** Exact figures per UTC day and task, from history (and attempts), for the days before today. */
async function exactByDay(db: TestDatabase) {
  const { rows } = await db.query(`
    select (finished_at at time zone 'UTC')::date::text as day, task,
      count(*) filter (where status = 'completed')::int as completed,
      count(*) filter (where status = 'failed')::int as failed,
      count(*) filter (where status = 'cancelled')::int as cancelled,
      percentile_disc(0.5) within group (order by duration_ms) filter (where status <> 'cancelled') as p50,
      percentile_disc(0.95) within group (order by duration_ms) filter (where status <> 'cancelled') as p95,
      percentile_disc(0.99) within group (order by duration_ms) filter (where status <> 'cancelled') as p99,
      percentile_disc(0.95) within group (order by wait_ms) as p95_wait,
      sum(duration_ms) filter (where status <> 'cancelled')::float8 as run_sum
    from tasklane.task_history
    where finished_at < (now() at time zone 'UTC')::date::timestamp at time zone 'UTC'
    group by 1, 2 order by 1, 2`)
  return rows
}

async function viewByDay(db: TestDatabase) {
  const { rows } = await db.query(`
    select day::text, task, completed::int, failed::int, cancelled::int, p50_run_ms as p50,
      p95_run_ms as p95, p99_run_ms as p99, p95_wait_ms as p95_wait, from_rollup
    from tasklane.daily_task_rollup
    where day < (now() at time zone 'UTC')::date
    order by 1, 2`)
  return rows
}

/** `rounding`: what the reader adds on top of the sketch (getAnalytics gives milliseconds to 0.1). */
function expectClose(actual: number, exact: number, rounding = 1e-9) {
  expect(Math.abs(actual - exact)).toBeLessThanOrEqual(exact * SKETCH_ERROR + rounding)
}
/** getAnalytics rounds percentiles to 0.1 ms: up to 0.05 ms beyond the sketch's own error. */
const ANALYTICS_ROUNDING = 0.05 + 1e-9

describe('daily rollup: folded before pruning, exactly once', () => {
  let db: TestDatabase
  let kdb: Db
  let exact: Awaited<ReturnType<typeof exactByDay>>

  beforeAll(async () => {
    db = await createTestDatabase()
    kdb = createDb({ connectionString: db.url, schema: 'tasklane', max: 2 })
    // An install whose history starts 70 UTC days ago (so at least two whole months lie behind any
    // cutoff a few days back): 70 days and today of finished tasks, in monthly partitions.
    await db.query(`update tasklane.rollup_state set folded_before = current_date - 70`)
    await db.query(`select tasklane.ensure_history_partitions(current_date - 70, current_date)`)
    await fillHistory((q, v) => db.query(q, v), { rows: 35_000, spanMs: 70 * DAY })
    // And today for sure: in the first minutes of a UTC day the span above may hold none of it.
    const sinceMidnight = Date.now() % DAY
    await fillHistory((q, v) => db.query(q, v), {
      rows: 20,
      spanMs: Math.max(1, Math.min(60_000, sinceMidnight - 1_000)),
    })
    exact = await exactByDay(db)
    expect(exact.length).toBe(70 * 5)
  })
  afterAll(async () => {
    await kdb?.close()
    await db?.drop()
  })

  it('drops nothing of a day that is not folded yet', async () => {
    const now = new Date()
    const n = await dropExpiredPartitions(kdb.kysely, { completedBefore: now, failedBefore: now })
    expect(n).toEqual({ dropped: [], deletedRows: 0 })
    expect(await exactByDay(db)).toEqual(exact)
  })

  it('a fold killed mid-transaction leaves nothing behind, and the next run folds the day once', async () => {
    // Hold task_attempt so the fold blocks inside its transaction (state row locked, rollup rows being
    // written), then kill its backend: a crash mid-fold.
    const blocker = new pg.Client({ connectionString: db.url })
    await blocker.connect()
    await blocker.query('begin')
    await blocker.query('lock table tasklane.task_attempt in access exclusive mode')
    const folding = foldNextDay(kdb.kysely, new BossJobReads('pgboss'), 0).then(
      () => 'committed',
      (err: Error) => err.message,
    )
    const deadline = Date.now() + 30_000
    let pid: number | undefined
    while (pid === undefined && Date.now() < deadline) {
      const { rows } = await blocker.query(
        `select pid from pg_locks where relation = 'tasklane.task_attempt'::regclass and not granted`,
      )
      pid = rows[0]?.pid
    }
    expect(pid).toBeDefined()
    await blocker.query('select pg_terminate_backend($1)', [pid])
    await blocker.query('rollback')
    await blocker.end()
    expect(await folding).not.toBe('committed')
    expect((await db.query('select count(*)::int as n from tasklane.task_rollup')).rows[0].n).toBe(0)
    expect((await rollupState(kdb.kysely)).foldedBefore.getTime()).toBe(
      Date.parse(`${exact[0].day}T00:00:00Z`),
    )

    // A new process (new pool) folds every due day: the 70 days before today.
    await kdb.close()
    kdb = createDb({ connectionString: db.url, schema: 'tasklane', max: 2 })
    expect(await maintenance(kdb, { completedMs: 3650 * DAY, failedMs: 3650 * DAY }).foldOnce()).toBe(70)
    expect(await maintenance(kdb, { completedMs: 3650 * DAY, failedMs: 3650 * DAY }).foldOnce()).toBe(0)
  })

  it('the rollup agrees with history: counts exactly, percentiles within the sketch error', async () => {
    const { rows: sums } = await db.query(`
      select day::text, task, sum(completed)::int as completed, sum(failed)::int as failed,
        sum(cancelled)::int as cancelled, sum(run_sum_ms)::float8 as run_sum,
        sum(run_count)::int as run_count, sum((select sum(c) from unnest(run_hist) c))::int as run_hist_n
      from tasklane.task_rollup group by 1, 2 order by 1, 2`)
    expect(sums.map((r) => [r.day, r.task, r.completed, r.failed, r.cancelled, r.run_sum])).toEqual(
      exact.map((r) => [r.day, r.task, r.completed, r.failed, r.cancelled, r.run_sum]),
    )
    for (const r of sums) expect(r.run_hist_n).toBe(r.run_count)
    const view = await viewByDay(db)
    expect(view.map((r) => [r.day, r.task, r.completed, r.failed, r.cancelled, r.from_rollup])).toEqual(
      exact.map((r) => [r.day, r.task, r.completed, r.failed, r.cancelled, true]),
    )
    for (const [i, r] of view.entries()) {
      for (const k of ['p50', 'p95', 'p99', 'p95_wait'] as const) expectClose(r[k], exact[i]![k])
    }
  })

  it('counts retried attempts (not the final failure) per day', async () => {
    const { rows } = await db.query(`
      select (select coalesce(sum(retried), 0)::int from tasklane.task_rollup) as rolled,
        (select count(*)::int from tasklane.task_attempt a
         where a.finished_at < (now() at time zone 'UTC')::date::timestamp at time zone 'UTC'
           and not exists (select 1 from tasklane.task_history f
             where f.task_id = a.task_id and f.status = 'failed' and f.attempts = a.attempt)) as exact`)
    expect(rows[0].rolled).toBeGreaterThan(0)
    expect(rows[0].rolled).toBe(rows[0].exact)
  })

  it('pruning history past retention leaves the reports unchanged', async () => {
    const before = await viewByDay(db)
    const count = async () =>
      (await db.query('select count(*)::int as n from tasklane.task_history')).rows[0].n
    const rowsBefore = await count()
    const { dropped } = await maintenance(kdb, { completedMs: 2 * DAY, failedMs: 3 * DAY }).pruneOnce()
    // Whole months of history and attempts, dropped, not deleted row by row.
    const month = (d: Date) => `y${d.getUTCFullYear()}m${String(d.getUTCMonth() + 1).padStart(2, '0')}`
    const lastMonth = new Date(
      Date.UTC(
        new Date(Date.now() - 3 * DAY).getUTCFullYear(),
        new Date(Date.now() - 3 * DAY).getUTCMonth() - 1,
        1,
      ),
    )
    expect(dropped).toEqual(
      expect.arrayContaining([`task_history_${month(lastMonth)}`, `task_attempt_${month(lastMonth)}`]),
    )
    expect(await count()).toBeLessThan(rowsBefore)
    expect(await viewByDay(db)).toEqual(before)
    // Complete history starts at the first month still there: the one holding the completed cutoff.
    const cutoff = new Date(Date.now() - 2 * DAY)
    const state = await rollupState(kdb.kysely)
    expect(state.historyFrom?.toISOString()).toBe(
      new Date(Date.UTC(cutoff.getUTCFullYear(), cutoff.getUTCMonth(), 1)).toISOString(),
    )
    // A 365-day report over the view still has every day.
    const { rows } = await db.query(
      `select count(distinct day)::int as days from tasklane.daily_task_rollup where day >= current_date - 365`,
    )
    expect(rows[0].days).toBe(71)
  })

  it('analytics over a window longer than history reads the rollup for the days history lost', async () => {
    const api = await startTasklane(db.url, [], { workers: 0 })
    try {
      const state = await rollupState(kdb.kysely)
      for (const bucket of ['1d', '1h']) {
        const a = await api.getAnalytics({ window: '70d', bucket })
        const split = (bucket === '1d' ? state.foldedBefore : state.historyFrom)!
        expect(a.rollupBefore).toBe(split.toISOString())
        const old = a.rows.filter((r) => Date.parse(r.bucket) < split.getTime())
        // Every folded day the window covers, whole, with the same counts as history had.
        const expected = exact.filter((e) => Date.parse(`${e.day}T00:00:00Z`) < split.getTime())
        expect(old.map((r) => [r.bucket.slice(0, 10), r.task, r.completed, r.failed, r.cancelled])).toEqual(
          expected.map((e) => [e.day, e.task, e.completed, e.failed, e.cancelled]),
        )
        for (const [i, r] of old.entries()) {
          expect(r.bucket.slice(10)).toBe('T00:00:00.000Z')
          expectClose(r.runP50Ms!, expected[i]!.p50, ANALYTICS_ROUNDING)
          expectClose(r.runP99Ms!, expected[i]!.p99, ANALYTICS_ROUNDING)
          expectClose(r.waitP95Ms!, expected[i]!.p95_wait, ANALYTICS_ROUNDING)
        }
        // After the split, history: today's rows at least.
        expect(a.rows.some((r) => Date.parse(r.bucket) >= split.getTime())).toBe(true)
      }
    } finally {
      await api.stop()
    }
  })

  it('rollups have their own retention', async () => {
    await maintenance(kdb, { completedMs: 2 * DAY, failedMs: 3 * DAY, rollupMs: 3 * DAY }).pruneOnce()
    const { rows } = await db.query(`select min(day)::text as first from tasklane.task_rollup`)
    expect(rows[0].first).toBe(
      new Date(Math.floor((Date.now() - 3 * DAY) / DAY) * DAY).toISOString().slice(0, 10),
    )
  })
})
