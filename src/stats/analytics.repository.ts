import { type Kysely, type RawBuilder, sql } from 'kysely'
import type { Database } from '../db/database.ts'
import { EPOCH, since, table } from './sql-parts.ts'

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

/** The statement behind analyticsRows (exported so tests can EXPLAIN it). */
export function analyticsQuery(
  db: Kysely<Database>,
  o: { windowMs: number; bucketMs: number; task?: string | undefined },
) {
  const taskFilter = (col: RawBuilder<unknown>) => (o.task ? sql`and ${col} = ${o.task}` : sql``)
  const from = since(o.windowMs)
  const width = sql`make_interval(secs => ${o.bucketMs / 1000})`
  return sql<{
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
    order by bucket, task`
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
  const { rows } = await analyticsQuery(db, o).execute(db)
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
