import { type Kysely, type RawBuilder, type SelectQueryNode, sql, TableNode } from 'kysely'
import type { Database } from '../db/database.ts'

/**
 * All SQL behind TaskStats, /metrics and analytics. Every query over history starts from
 * `finished_at >= now() - window`, so its cost grows with the rows in the window, not with the table:
 * with 1,000,000 history rows the plans are range scans of task_history_window (migration 0002), an
 * index on finished_at that carries the columns these queries read, so they never visit the heap.
 */

/**
 * `now() - window` on the database clock (one clock for every process of the cluster). Written inline
 * in each query, never in a CTE: the planner must see the bound to estimate a few rows and pick the
 * index range scan (and nested-loop lookups), where a CTE made it guess a third of the table.
 */
function since(windowMs: number): RawBuilder<Date> {
  return sql<Date>`now() - make_interval(secs => ${windowMs / 1000})`
}

/**
 * `db` is scoped with withSchema(), but that scope applies to the query builder only, not to raw SQL:
 * resolve the qualified name the way the builder does, so raw queries read the same tables.
 */
function table(db: Kysely<Database>, name: keyof Database) {
  const from = (db.selectFrom(name).selectAll().compile().query as SelectQueryNode).from?.froms[0]
  const schema = from && TableNode.is(from) ? from.table.schema?.name : undefined
  return sql.table(schema ? `${schema}.${name}` : name)
}

// Buckets start at multiples of their width from the Unix epoch: hourly buckets start on the hour (UTC).
const EPOCH = sql`timestamptz 'epoch'`

function jobTable(bossSchema: string) {
  return sql.table(`${bossSchema}.job`)
}

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
 * still running in pg-boss.
 */
export async function windowFigures(
  db: Kysely<Database>,
  bossSchema: string,
  queues: string[],
  windowMs: number,
): Promise<WindowFigures> {
  const from = since(windowMs)
  const { rows } = await sql<Record<keyof WindowFigures, string | number | null>>`
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
        on f.task_id = a.task_id and f.status = 'failed' and f.attempts = a.attempt
      where a.finished_at >= ${from}
    ),
    r as (
      select coalesce(sum(extract(epoch from now() - greatest(started_on, ${from}))), 0) as busy_s
      from ${jobTable(bossSchema)}
      where name = any(${queues}::text[]) and state = 'active' and started_on is not null
    )
    select h.completed, h.failed, h.cancelled,
      coalesce(h.avg_run, 0) as "avgRunMs",
      coalesce(h.run_pct[1], 0) as "p95RunMs",
      coalesce(h.run_pct[2], 0) as "p99RunMs",
      a.retries, a.timeouts,
      (h.busy_s + a.busy_s + r.busy_s) * 1000 as "busyMs"
    from h, a, r`.execute(db)
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

export interface AnalyticsRow {
  task: string
  bucket: Date
  /** Seconds of this bucket that lie inside the window (the first and last buckets are partial). */
  seconds: number
  completed: number
  failed: number
  cancelled: number
  retried: number
  wait: [number, number, number] | null
  run: [number, number, number] | null
}

/**
 * Per task name and time bucket over the window: outcome counts, failed attempts that were retried,
 * and wait/run p50/p95/p99. Buckets are date_bin() from the Unix epoch, so hourly buckets start on the
 * hour (UTC); buckets in which nothing finished are absent.
 */
export async function analyticsRows(
  db: Kysely<Database>,
  o: { windowMs: number; bucketMs: number; task?: string | undefined },
): Promise<AnalyticsRow[]> {
  const taskFilter = (col: RawBuilder<unknown>) => (o.task ? sql`and ${col} = ${o.task}` : sql``)
  const from = since(o.windowMs)
  const width = sql`make_interval(secs => ${o.bucketMs / 1000})`
  const { rows } = await sql<{
    task: string
    bucket: Date
    seconds: number
    completed: string
    failed: string
    cancelled: string
    retried: string
    wait: number[] | null
    run: number[] | null
  }>`
    with h as (
      select h.task, date_bin(${width}, h.finished_at, ${EPOCH}) as bucket,
        count(*) filter (where h.status = 'completed') as completed,
        count(*) filter (where h.status = 'failed') as failed,
        count(*) filter (where h.status = 'cancelled') as cancelled,
        percentile_cont(array[0.5, 0.95, 0.99]) within group (order by h.wait_ms) as wait,
        percentile_cont(array[0.5, 0.95, 0.99]) within group (order by h.duration_ms)
          filter (where h.status <> 'cancelled') as run
      from ${table(db, 'task_history')} h
      where h.finished_at >= ${from} ${taskFilter(sql.ref('h.task'))}
      group by 1, 2
    ),
    r as (
      select a.task, date_bin(${width}, a.finished_at, ${EPOCH}) as bucket, count(*) as retried
      from ${table(db, 'task_attempt')} a
      left join ${table(db, 'task_history')} f
        on f.task_id = a.task_id and f.status = 'failed' and f.attempts = a.attempt
      where a.finished_at >= ${from} and f.task_id is null ${taskFilter(sql.ref('a.task'))}
      group by 1, 2
    )
    select task, bucket,
      extract(epoch from least(bucket + ${width}, now()) - greatest(bucket, ${from}))::float8 as seconds,
      coalesce(h.completed, 0) as completed, coalesce(h.failed, 0) as failed,
      coalesce(h.cancelled, 0) as cancelled, coalesce(r.retried, 0) as retried, h.wait, h.run
    from h full join r using (task, bucket)
    order by bucket, task`.execute(db)
  return rows.map((r) => ({
    task: r.task,
    bucket: r.bucket,
    seconds: Number(r.seconds),
    completed: Number(r.completed),
    failed: Number(r.failed),
    cancelled: Number(r.cancelled),
    retried: Number(r.retried),
    wait: triple(r.wait),
    run: triple(r.run),
  }))
}

function triple(values: number[] | null): [number, number, number] | null {
  if (!values || values[0] === null || values[0] === undefined) return null
  return [Number(values[0]), Number(values[1]), Number(values[2])]
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
      min(started_at) as "oldestStartedAt"
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
  }
}

export interface PriorityCounts {
  /** Ready tasks by pg-boss priority value. */
  ready: Map<number, number>
  /** Tasks whose start_after is in the future: delayed, scheduled, or waiting out a retry backoff. */
  deferred: number
  active: number
}

/**
 * Live task counts over the known queues, grouped by priority. Reads pg-boss's job_i14 partial index
 * (name, state, blocked, start_after WHERE live), so the cost follows the live backlog, not history.
 */
export async function liveCounts(
  db: Kysely<Database>,
  bossSchema: string,
  queues: string[],
): Promise<PriorityCounts> {
  const { rows } = await sql<{ priority: number; ready: string; deferred: string; active: string }>`
    select priority,
      count(*) filter (where state < 'active' and start_after <= now()) as ready,
      count(*) filter (where state < 'active' and start_after > now()) as deferred,
      count(*) filter (where state = 'active') as active
    from ${jobTable(bossSchema)}
    where name = any(${queues}::text[]) and state <= 'active'
    group by priority`.execute(db)
  const ready = new Map<number, number>()
  let deferred = 0
  let active = 0
  for (const r of rows) {
    ready.set(r.priority, Number(r.ready))
    deferred += Number(r.deferred)
    active += Number(r.active)
  }
  return { ready, deferred, active }
}
