import { type Kysely, type RawBuilder, sql } from 'kysely'
import type { Database } from '../db/database.ts'
import { EPOCH, finalFailureOf, fn, since, table } from './sql-parts.ts'

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

export interface AnalyticsQueryOptions {
  windowMs: number
  bucketMs: number
  task?: string | undefined
  /** Read history only from this instant on (a UTC midnight; earlier days come from the rollup). */
  historyFrom?: Date | undefined
}

/** One row of the analytics statements (history and rollup alike): counts as text, as pg returns them. */
type AnalyticsSqlRow = {
  task: string
  bucket: Date
  seconds: number
  completed: string
  failed: string
  cancelled: string
  retried: string
  wait: number[] | null
  run: number[] | null
}

/** The statement behind analyticsRows (exported so tests can EXPLAIN it): exact, from history. */
export function analyticsQuery(db: Kysely<Database>, o: AnalyticsQueryOptions) {
  const taskFilter = (col: RawBuilder<unknown>) => (o.task ? sql`and ${col} = ${o.task}` : sql``)
  const from = o.historyFrom
    ? sql<Date>`greatest(${since(o.windowMs)}, ${o.historyFrom}::timestamptz)`
    : since(o.windowMs)
  const width = sql`make_interval(secs => ${o.bucketMs / 1000})`
  return sql<AnalyticsSqlRow>`
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
        on ${finalFailureOf(from)}
      where a.finished_at >= ${from} and f.task_id is null ${taskFilter(sql.ref('a.task'))}
      group by 1, 2
    )
    select task, bucket,
      extract(epoch from least(bucket + ${width}, now()) - greatest(bucket, ${since(o.windowMs)}))::float8 as seconds,
      coalesce(h.completed, 0) as completed, coalesce(h.failed, 0) as failed,
      coalesce(h.cancelled, 0) as cancelled, coalesce(r.retried, 0) as retried, h.wait, h.run
    from h full join r using (task, bucket)
    order by bucket, task`
}

export interface RollupAnalyticsOptions {
  windowMs: number
  bucketMs: number
  task?: string | undefined
  /** Days before this UTC midnight are read from task_rollup. */
  rollupBefore: Date
  /** History from this instant on is folded in as histograms too (bucket widths of whole days); null: none. */
  historyFrom: Date | null
}

/**
 * Per task and bucket from the daily rollup (days before rollupBefore that overlap the window, each
 * whole day in the bucket holding its midnight) and, when historyFrom is given, from history after it,
 * merged: counts add up, and wait/run percentiles come from the summed histograms (nearest rank,
 * within 4.4%, docs/sql.md). Histograms are merged as (bucket index, count) rows rather than arrays.
 */
export function rollupAnalyticsQuery(db: Kysely<Database>, o: RollupAnalyticsOptions) {
  const taskFilter = (col: RawBuilder<unknown>) => (o.task ? sql`and ${col} = ${o.task}` : sql``)
  const from = since(o.windowMs)
  const width = sql`make_interval(secs => ${o.bucketMs / 1000})`
  const dayBucket = sql`date_bin(${width}, r.day::timestamp at time zone 'UTC', ${EPOCH})`
  const days = sql`r.day < ${o.rollupBefore.toISOString().slice(0, 10)}::date
    and r.day >= ((${from}) at time zone 'UTC')::date ${taskFilter(sql.ref('r.task'))}`
  const hFrom = o.historyFrom
    ? sql`greatest(${from}, ${o.historyFrom}::timestamptz)`
    : sql`'infinity'::timestamptz`
  const value = fn(db, 'histogram_value')
  return sql<AnalyticsSqlRow>`
    with hist as (
      select h.task, date_bin(${width}, h.finished_at, ${EPOCH}) as bucket, h.status, h.wait_ms,
        case when h.status <> 'cancelled' then h.duration_ms end as run_ms
      from ${table(db, 'task_history')} h
      where h.finished_at >= ${hFrom} ${taskFilter(sql.ref('h.task'))}
    ),
    counts as (
      select task, bucket, sum(completed) as completed, sum(failed) as failed,
        sum(cancelled) as cancelled, sum(retried) as retried
      from (
        select r.task, ${dayBucket} as bucket, r.completed, r.failed, r.cancelled, r.retried
        from ${table(db, 'task_rollup')} r where ${days}
        union all
        select task, bucket, (status = 'completed')::int, (status = 'failed')::int,
          (status = 'cancelled')::int, 0
        from hist
        union all
        select a.task, date_bin(${width}, a.finished_at, ${EPOCH}), 0, 0, 0, 1
        from ${table(db, 'task_attempt')} a
        left join ${table(db, 'task_history')} f
          on ${finalFailureOf(hFrom)}
        where a.finished_at >= ${hFrom} and f.task_id is null ${taskFilter(sql.ref('a.task'))}
      ) x
      group by 1, 2
    ),
    b as (
      select task, bucket, kind, i, sum(n) as n from (
        select r.task, ${dayBucket} as bucket, 'run' as kind, u.i, u.n
        from ${table(db, 'task_rollup')} r, unnest(r.run_hist) with ordinality u(n, i)
        where ${days} and u.n > 0
        union all
        select r.task, ${dayBucket}, 'wait', u.i, u.n
        from ${table(db, 'task_rollup')} r, unnest(r.wait_hist) with ordinality u(n, i)
        where ${days} and u.n > 0
        union all
        select task, bucket, 'run', ${fn(db, 'histogram_bucket')}(run_ms), 1 from hist where run_ms is not null
        union all
        select task, bucket, 'wait', ${fn(db, 'histogram_bucket')}(wait_ms), 1 from hist where wait_ms is not null
      ) x
      group by 1, 2, 3, 4
    ),
    pct as (
      select task, bucket, kind,
        array[${value}(min(i) filter (where below >= greatest(ceil(0.5 * total), 1))::integer),
              ${value}(min(i) filter (where below >= greatest(ceil(0.95 * total), 1))::integer),
              ${value}(min(i) filter (where below >= greatest(ceil(0.99 * total), 1))::integer)] as p
      from (
        select task, bucket, kind, i,
          sum(n) over (partition by task, bucket, kind order by i) as below,
          sum(n) over (partition by task, bucket, kind) as total
        from b
      ) c
      group by 1, 2, 3
    )
    select c.task, c.bucket,
      extract(epoch from least(c.bucket + ${width}, now()) - greatest(c.bucket, ${from}))::float8 as seconds,
      c.completed, c.failed, c.cancelled, c.retried, w.p as wait, r.p as run
    from counts c
    left join pct w on w.task = c.task and w.bucket = c.bucket and w.kind = 'wait'
    left join pct r on r.task = c.task and r.bucket = c.bucket and r.kind = 'run'
    order by c.bucket, c.task`
}

/**
 * Per task name and time bucket over the window: outcome counts, failed attempts that were retried,
 * and wait/run p50/p95/p99. Buckets are date_bin() from the Unix epoch, so hourly buckets start on the
 * hour (UTC); buckets in which nothing finished are absent.
 *
 * Where the rollup is read: with buckets of whole days, every folded day comes from task_rollup and
 * only the days after (today, mostly) from history, all merged as histograms; with shorter buckets,
 * history is read, exactly, wherever it is complete (from `historyFrom`), and only the days before
 * that come from the rollup, in whole days.
 */
export async function analyticsRows(
  db: Kysely<Database>,
  o: {
    windowMs: number
    bucketMs: number
    task?: string | undefined
    state: { foldedBefore: Date; historyFrom: Date | null }
    /** The database's now (the SQL cuts the window with now() too). */
    now: Date
  },
): Promise<{ rows: AnalyticsRow[]; rollupBefore: Date | null }> {
  const wholeDays = o.bucketMs % 86_400_000 === 0
  const split = wholeDays ? o.state.foldedBefore : o.state.historyFrom
  // Rollup days overlap the window iff the split (a UTC midnight) is later than the window's start.
  const rollupBefore = split && split.getTime() > o.now.getTime() - o.windowMs ? split : null
  const useRollup = rollupBefore !== null
  const parts: Array<Promise<{ rows: AnalyticsSqlRow[] }>> = []
  if (wholeDays && useRollup) {
    parts.push(rollupAnalyticsQuery(db, { ...o, rollupBefore, historyFrom: rollupBefore }).execute(db))
  } else {
    // Exact, from history alone, when the window lies within it (the 24 h dashboard view).
    parts.push(analyticsQuery(db, { ...o, historyFrom: rollupBefore ?? undefined }).execute(db))
    if (rollupBefore)
      parts.push(rollupAnalyticsQuery(db, { ...o, rollupBefore, historyFrom: null }).execute(db))
  }
  const rows = (await Promise.all(parts)).flatMap((p) => p.rows)
  // Two parts (rollup days, then history) have disjoint buckets; each is sorted already.
  if (parts.length > 1)
    rows.sort(
      (a, b) => new Date(a.bucket).getTime() - new Date(b.bucket).getTime() || compare(a.task, b.task),
    )
  const out = rows.map((r) => ({
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
  return { rows: out, rollupBefore }
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

function triple(values: number[] | null): [number, number, number] | null {
  if (!values || values[0] === null || values[0] === undefined) return null
  return [Number(values[0]), Number(values[1]), Number(values[2])]
}
