import { type Kysely, sql } from 'kysely'
import type { Database } from '../db/database.ts'
import type { JobReads } from '../queue/job-store.ts'
import { finalFailureOf, since, table } from './sql-parts.ts'

/**
 * All SQL behind TaskStats, /metrics and analytics. Every query over history starts from
 * `finished_at >= now() - window`, so its cost follows the rows in the window, not the table: with
 * 1,000,000 history rows the plans are range scans of task_history_finished_at / task_attempt_finished_at
 * (migration 0001), and the "was this attempt the final failure" check is a primary-key lookup per
 * attempt in the window. History is appended in finish order, so a window's rows sit on few pages and
 * a covering index bought nothing measurable (test/stats/stats-scale.test.ts checks the plans).
 */

export interface WindowFigures {
  completed: number
  failed: number
  cancelled: number
  avgRunMs: number
  p95RunMs: number
  p99RunMs: number
  /** Failed attempts that were followed by another attempt. */
  retries: number
  /** Attempts aborted by their task's timeout (retried or final). */
  timeouts: number
  /** Slot-milliseconds spent running attempts inside the window, running ones included. */
  busyMs: number
}

/**
 * Counts, run-time percentiles, retries, timeouts and busy slot time over the window, in one
 * statement (one snapshot, one round trip). Run times are those of the final attempt of tasks that
 * completed or failed. Busy time clips every attempt to the window: finished tasks (the final failure
 * is counted from task_attempt, so failed history rows are skipped), failed attempts, and attempts
 * still running (the job store's).
 */
export async function windowFigures(
  db: Kysely<Database>,
  jobs: JobReads,
  queues: string[],
  windowMs: number,
): Promise<WindowFigures> {
  const { rows } = await windowFiguresQuery(db, jobs, queues, windowMs).execute(db)
  const row = rows[0]!
  return {
    completed: Number(row.completed),
    failed: Number(row.failed),
    cancelled: Number(row.cancelled),
    avgRunMs: Number(row.avgRunMs),
    p95RunMs: Number(row.p95RunMs),
    p99RunMs: Number(row.p99RunMs),
    retries: Number(row.retries),
    timeouts: Number(row.timeouts),
    busyMs: Number(row.busyMs),
  }
}

/** The statement behind windowFigures (exported so tests can EXPLAIN it). */
export function windowFiguresQuery(db: Kysely<Database>, jobs: JobReads, queues: string[], windowMs: number) {
  const from = since(windowMs)
  return sql<Record<keyof WindowFigures, string | number | null>>`
    with h as (
      select
        count(*) filter (where status = 'completed') as completed,
        count(*) filter (where status = 'failed') as failed,
        count(*) filter (where status = 'cancelled') as cancelled,
        avg(duration_ms) filter (where status <> 'cancelled') as avg_run,
        percentile_cont(array[0.95, 0.99]) within group (order by duration_ms)
          filter (where status <> 'cancelled') as run_pct,
        coalesce(sum(extract(epoch from finished_at - greatest(started_at, ${from})))
          filter (where status <> 'failed' and started_at is not null), 0) as busy_s
      from ${table(db, 'task_history')} where finished_at >= ${from}
    ),
    a as (
      select
        count(*) filter (where f.task_id is null) as retries,
        count(*) filter (where a.outcome = 'timeout') as timeouts,
        coalesce(sum(extract(epoch from a.finished_at - greatest(a.started_at, ${from})))
          filter (where a.started_at is not null), 0) as busy_s
      from ${table(db, 'task_attempt')} a
      left join ${table(db, 'task_history')} f
        on ${finalFailureOf(from)}
      where a.finished_at >= ${from}
    ),
    r as (${jobs.runningBusySeconds(queues, from)})
    select h.completed, h.failed, h.cancelled,
      coalesce(h.avg_run, 0) as "avgRunMs",
      coalesce(h.run_pct[1], 0) as "p95RunMs",
      coalesce(h.run_pct[2], 0) as "p99RunMs",
      a.retries, a.timeouts,
      (h.busy_s + a.busy_s + r.busy_s) * 1000 as "busyMs"
    from h, a, r`
}

/**
 * How many tasks that completed or failed in the window ran at most each bound (cumulative, like a
 * Prometheus histogram's buckets), plus their count and total run time. One pass over the window.
 */
export async function runTimeHistogram(
  db: Kysely<Database>,
  windowMs: number,
  boundsMs: readonly number[],
): Promise<{ buckets: number[]; count: number; sumMs: number }> {
  const counts = boundsMs.map(
    (b, i) => sql`count(*) filter (where duration_ms <= ${b}) as ${sql.ref(`b${i}`)}`,
  )
  const { rows } = await sql<Record<string, string>>`
    select ${sql.join(counts)}, count(*) as n, coalesce(sum(duration_ms), 0) as sum_ms
    from ${table(db, 'task_history')}
    where finished_at >= ${since(windowMs)} and status <> 'cancelled' and duration_ms is not null`.execute(db)
  const row = rows[0]!
  return {
    buckets: boundsMs.map((_, i) => Number(row[`b${i}`])),
    count: Number(row.n),
    sumMs: Number(row.sum_ms),
  }
}

export interface LiveWorkers {
  processes: number
  slots: number
  busy: number
  rssMb: number
  heapMb: number
  cpuPercent: number
  /** Slot-milliseconds the live processes offered inside the window (a process started later offers less). */
  slotMsInWindow: number
  oldestStartedAt: Date | null
  /** How long ago the oldest live process started, measured on the database's clock alone. */
  oldestAgeMs: number | null
}

/**
 * Sums over live worker processes (heartbeat within `liveWithinMs`): each process registers itself
 * and heartbeats, so these are cluster figures whichever process answers.
 */
export async function liveWorkers(
  db: Kysely<Database>,
  liveWithinMs: number,
  windowMs: number,
): Promise<LiveWorkers> {
  const { rows } = await sql<Record<keyof LiveWorkers, string | number | Date | null>>`
    select count(*) as processes,
      coalesce(sum(concurrency), 0) as slots,
      coalesce(sum(least(busy, concurrency)), 0) as busy,
      coalesce(sum(rss_mb), 0) as "rssMb",
      coalesce(sum(heap_mb), 0) as "heapMb",
      coalesce(sum(cpu_percent), 0) as "cpuPercent",
      coalesce(sum(concurrency * 1000 * extract(epoch from least(now() - started_at,
        make_interval(secs => ${windowMs / 1000})))), 0) as "slotMsInWindow",
      min(started_at) as "oldestStartedAt",
      extract(epoch from now() - min(started_at)) * 1000 as "oldestAgeMs"
    from ${table(db, 'worker_process')}
    where heartbeat_at >= now() - make_interval(secs => ${liveWithinMs / 1000})`.execute(db)
  const row = rows[0]!
  return {
    processes: Number(row.processes),
    slots: Number(row.slots),
    busy: Number(row.busy),
    rssMb: Number(row.rssMb),
    heapMb: Number(row.heapMb),
    cpuPercent: Number(row.cpuPercent),
    slotMsInWindow: Number(row.slotMsInWindow),
    oldestStartedAt: (row.oldestStartedAt as Date | null) ?? null,
    oldestAgeMs: row.oldestAgeMs === null ? null : Number(row.oldestAgeMs),
  }
}
