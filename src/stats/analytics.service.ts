import { databaseNow } from '../db/clock.repository.ts'
import { TasklaneError } from '../errors.ts'
import { rollupState } from '../history/rollup.repository.ts'
import { analyticsRows } from './analytics.repository.ts'
import { formatDuration } from './format-duration.ts'
import { ratio, round } from './numbers.ts'
import type { StatsDeps } from './stats-deps.ts'

/**
 * One task name in one time bucket of Analytics. Times in milliseconds, throughput in tasks per
 * second; percentiles are interpolated (`percentile_cont`), null when no task is in them.
 * @example
 * { task: 'send-reminder', bucket: '2026-11-28T09:00:00.000Z', completed: 118, failed: 2, cancelled: 0,
 *   retried: 5, throughput: 0.0333, errorRate: 0.0167, waitP50Ms: 4, waitP95Ms: 19.5, waitP99Ms: 41.2,
 *   runP50Ms: 230, runP95Ms: 910, runP99Ms: 1204.6 }
 */
export interface AnalyticsBucket {
  /** The task name. */
  task: string
  /** ISO start of the bucket (buckets start at multiples of the width from the Unix epoch, UTC). */
  bucket: string
  /** Tasks that completed in the bucket. */
  completed: number
  /** Tasks that failed for good in the bucket. */
  failed: number
  /** Tasks cancelled in the bucket. */
  cancelled: number
  /** Failed attempts in the bucket that were followed by another attempt. */
  retried: number
  /** (completed + failed) ÷ the seconds of the bucket inside the window, in tasks per second. */
  throughput: number
  /** Median wait (from when the task could first run to when its final attempt started), in ms. */
  waitP50Ms: number | null
  /** 95th percentile of the wait, in ms. */
  waitP95Ms: number | null
  /** 99th percentile of the wait, in ms. */
  waitP99Ms: number | null
  /** Median run time of completed and failed tasks, in ms. */
  runP50Ms: number | null
  /** 95th percentile of the run time, in ms. */
  runP95Ms: number | null
  /** 99th percentile of the run time, in ms. */
  runP99Ms: number | null
  /** failed ÷ (completed + failed), from 0 to 1 (0 when neither). */
  errorRate: number
}

/**
 * What `tasks.getAnalytics()` and `GET /analytics` answer: per task name and time bucket over a window
 * ending now (docs/stats.md, "Analytics").
 * @example
 * const { rows } = await tasks.getAnalytics({ window: '7d', bucket: '1d', task: 'send-reminder' })
 * for (const r of rows) console.log(r.bucket, r.completed, r.failed, r.runP95Ms)
 */
export interface Analytics {
  /** The window, as a duration ('24h'). */
  window: string
  /** The bucket width, as a duration ('1h'). */
  bucket: string
  /** Start of the window, ISO 8601 (database clock). */
  from: string
  /** End of the window (now, database clock), ISO 8601. */
  to: string
  /**
   * Buckets before this instant were read from the daily rollup (task_rollup): whole UTC days, and
   * percentiles within 4.4% (docs/sql.md). Null when the whole window was read from history.
   */
  rollupBefore: string | null
  /** Sparse: one row per task name and bucket in which something finished or was retried. */
  rows: AnalyticsBucket[]
}

/** Bounds that keep one analytics answer small: at most this many buckets per task. */
export const ANALYTICS_LIMITS = Object.freeze({
  minBucketMs: 1_000,
  // Reports outlive history through the rollup, whose retention can be up to 100 years.
  maxWindowMs: 36_500 * 86_400_000,
  maxBuckets: 2_000,
})

function checkAnalyticsRange(windowMs: number, bucketMs: number): void {
  const { minBucketMs, maxWindowMs, maxBuckets } = ANALYTICS_LIMITS
  const bad = (path: string, message: string) =>
    new TasklaneError('validation_failed', `${path} ${message}`, [{ path, message }])
  if (!Number.isFinite(windowMs) || windowMs <= 0 || windowMs > maxWindowMs) {
    throw bad('window', `must be a duration from 1s to ${formatDuration(maxWindowMs)} (got ${windowMs} ms)`)
  }
  if (!Number.isFinite(bucketMs) || bucketMs < minBucketMs || bucketMs > windowMs) {
    throw bad(
      'bucket',
      `must be a duration from 1s up to the window, ${formatDuration(windowMs)} (got ${bucketMs} ms)`,
    )
  }
  if (windowMs / bucketMs > maxBuckets) {
    throw bad(
      'bucket',
      `is too small for the window: at most ${maxBuckets} buckets (use a bucket of ${formatDuration(Math.ceil(windowMs / maxBuckets))} or more)`,
    )
  }
}

/**
 * Per task name and time bucket over the window: outcomes, retries, throughput, wait and run
 * percentiles and error rate, all computed in SQL (percentile_cont, date_bin). Windows longer than
 * history retention read the daily rollup for the days history no longer has (analyticsRows says where).
 * @example await computeAnalytics(deps, { windowMs: 86_400_000, bucketMs: 3_600_000 })
 */
export async function computeAnalytics(
  d: StatsDeps,
  o: { windowMs: number; bucketMs: number; task?: string },
): Promise<Analytics> {
  checkAnalyticsRange(o.windowMs, o.bucketMs)
  // The window's end on the database's clock, which the rows' window (now() − window) is cut by.
  const to = await databaseNow(d.db)
  const state = await rollupState(d.db)
  const { rows, rollupBefore } = await analyticsRows(d.db, { ...o, state, now: to })
  return {
    window: formatDuration(o.windowMs),
    bucket: formatDuration(o.bucketMs),
    from: new Date(to.getTime() - o.windowMs).toISOString(),
    to: to.toISOString(),
    rollupBefore: rollupBefore?.toISOString() ?? null,
    rows: rows.map((r) => {
      const done = r.completed + r.failed
      return {
        task: r.task,
        bucket: new Date(r.bucket).toISOString(),
        completed: r.completed,
        failed: r.failed,
        cancelled: r.cancelled,
        retried: r.retried,
        throughput: round(ratio(done, r.seconds), 4),
        waitP50Ms: r.wait ? round(r.wait[0], 1) : null,
        waitP95Ms: r.wait ? round(r.wait[1], 1) : null,
        waitP99Ms: r.wait ? round(r.wait[2], 1) : null,
        runP50Ms: r.run ? round(r.run[0], 1) : null,
        runP95Ms: r.run ? round(r.run[1], 1) : null,
        runP99Ms: r.run ? round(r.run[2], 1) : null,
        errorRate: round(ratio(r.failed, done), 4),
      }
    }),
  }
}
