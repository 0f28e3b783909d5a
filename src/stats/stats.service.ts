import type { Kysely } from 'kysely'
import type { Database } from '../db/database.ts'
import { TasklaneError } from '../errors.ts'
import { PRIORITIES, type TaskPriority, toBossPriority } from '../tasks/priority.ts'
import { formatDuration } from './format-duration.ts'
import {
  analyticsRows,
  type LiveWorkers,
  liveCounts,
  liveWorkers,
  type PriorityCounts,
  type WindowFigures,
  windowFigures,
} from './stats.repository.ts'

export interface StatsDeps {
  db: Kysely<Database>
  bossSchema: string
  /** Queues whose live tasks are counted (the instance's registered queues). */
  queues: string[]
  /** Sliding window of rates and percentiles (config.statsWindowMs, default 5 minutes). */
  windowMs: number
  /** A worker process whose heartbeat is older than this is not live. */
  heartbeatTimeoutMs: number
  /** When the answering instance started. */
  startedAt: Date
}

/**
 * Cluster-wide statistics: the fields of Catzilla's get_task_stats(), camelCased. Each is defined in
 * docs/stats.md; ratios named *Rate are 0–1, *Utilization, *Efficiency and *CpuUsage are percents.
 */
export interface TaskStats {
  criticalQueueSize: number
  highQueueSize: number
  normalQueueSize: number
  lowQueueSize: number
  totalQueued: number
  scheduled: number
  queuePressure: number
  activeWorkers: number
  idleWorkers: number
  totalWorkers: number
  avgWorkerUtilization: number
  tasksPerSecond: number
  avgExecutionTimeMs: number
  p95ExecutionTimeMs: number
  p99ExecutionTimeMs: number
  memoryUsageMb: number
  memoryEfficiency: number
  workerCpuUsage: number
  workerMemoryUsage: number
  engineCpuUsage: number
  totalTasksProcessed: number
  failedTasks: number
  errorRate: number
  uptimeSeconds: number
  retryCount: number
  timeoutCount: number
  windowSeconds: number
}

/** One task name in one time bucket. Times in milliseconds, throughput in tasks per second. */
export interface AnalyticsBucket {
  task: string
  /** ISO start of the bucket. */
  bucket: string
  completed: number
  failed: number
  cancelled: number
  retried: number
  throughput: number
  waitP50Ms: number | null
  waitP95Ms: number | null
  waitP99Ms: number | null
  runP50Ms: number | null
  runP95Ms: number | null
  runP99Ms: number | null
  errorRate: number
}

export interface Analytics {
  /** The window, as a duration ('24h'). */
  window: string
  /** The bucket width, as a duration ('1h'). */
  bucket: string
  from: string
  to: string
  /** Sparse: one row per task name and bucket in which something finished or was retried. */
  rows: AnalyticsBucket[]
}

const round = (n: number, digits = 3) => {
  const f = 10 ** digits
  return Math.round(n * f) / f
}
const ratio = (part: number, whole: number) => (whole > 0 ? part / whole : 0)

/** CPU time of this process since it started, as a percent of one core. */
function processCpuPercent(): number {
  const { user, system } = process.cpuUsage()
  return ratio((user + system) / 1000, process.uptime() * 1000) * 100
}

/**
 * Computes TaskStats: live counts from pg-boss, worker figures from the registry of live processes,
 * rates and percentiles from history over the sliding window. Three queries, run in parallel.
 * @example const stats = await computeTaskStats({ db, bossSchema: 'pgboss', queues: ['default'], windowMs: 300_000, heartbeatTimeoutMs: 30_000, startedAt })
 */
export async function computeTaskStats(d: StatsDeps): Promise<TaskStats> {
  const [counts, workers, win] = await Promise.all([
    liveCounts(d.db, d.bossSchema, d.queues),
    liveWorkers(d.db, d.heartbeatTimeoutMs, d.windowMs),
    windowFigures(d.db, d.bossSchema, d.queues, d.windowMs),
  ])
  return assembleTaskStats(d, counts, workers, win)
}

/** TaskStats from the three query results (shared with /metrics, which reads more beside them). */
export function assembleTaskStats(
  d: Pick<StatsDeps, 'windowMs' | 'startedAt'>,
  counts: PriorityCounts,
  workers: LiveWorkers,
  win: WindowFigures,
): TaskStats {
  const bySize = Object.fromEntries(PRIORITIES.map((p) => [p, 0])) as Record<TaskPriority, number>
  for (const [value, n] of counts.ready) bySize[levelOf(value)] += n
  const totalQueued = PRIORITIES.reduce((n, p) => n + bySize[p], 0)
  const processed = win.completed + win.failed
  const windowSeconds = d.windowMs / 1000
  const started = Math.min(
    d.startedAt.getTime(),
    workers.oldestStartedAt?.getTime() ?? Number.POSITIVE_INFINITY,
  )
  return {
    criticalQueueSize: bySize.CRITICAL,
    highQueueSize: bySize.HIGH,
    normalQueueSize: bySize.NORMAL,
    lowQueueSize: bySize.LOW,
    totalQueued,
    scheduled: counts.deferred,
    queuePressure: round(totalQueued / Math.max(1, workers.slots)),
    activeWorkers: workers.busy,
    idleWorkers: Math.max(0, workers.slots - workers.busy),
    totalWorkers: workers.slots,
    avgWorkerUtilization: round(Math.min(100, ratio(win.busyMs, workers.slotMsInWindow) * 100), 2),
    tasksPerSecond: round(processed / windowSeconds),
    avgExecutionTimeMs: round(win.avgRunMs, 1),
    p95ExecutionTimeMs: round(win.p95RunMs, 1),
    p99ExecutionTimeMs: round(win.p99RunMs, 1),
    memoryUsageMb: round(workers.rssMb, 1),
    memoryEfficiency: round(ratio(workers.heapMb, workers.rssMb) * 100, 2),
    workerCpuUsage: round(workers.cpuPercent, 2),
    workerMemoryUsage: round(workers.heapMb, 1),
    engineCpuUsage: round(processCpuPercent(), 2),
    totalTasksProcessed: processed,
    failedTasks: win.failed,
    errorRate: round(ratio(win.failed, processed), 4),
    uptimeSeconds: Math.max(0, Math.round((Date.now() - started) / 1000)),
    retryCount: win.retries,
    timeoutCount: win.timeouts,
    windowSeconds,
  }
}

/** The priority level a stored pg-boss value belongs to (the nearest level at or below it). */
function levelOf(value: number): TaskPriority {
  return PRIORITIES.find((p) => value >= toBossPriority(p)) ?? 'LOW'
}

/** Bounds that keep one analytics answer small: at most this many buckets per task. */
export const ANALYTICS_LIMITS = Object.freeze({
  minBucketMs: 1_000,
  maxWindowMs: 400 * 86_400_000,
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
 * percentiles and error rate, all computed in SQL (percentile_cont, date_bin).
 * @example await computeAnalytics(deps, { windowMs: 86_400_000, bucketMs: 3_600_000 })
 */
export async function computeAnalytics(
  d: StatsDeps,
  o: { windowMs: number; bucketMs: number; task?: string },
): Promise<Analytics> {
  checkAnalyticsRange(o.windowMs, o.bucketMs)
  const to = new Date()
  const rows = await analyticsRows(d.db, o)
  return {
    window: formatDuration(o.windowMs),
    bucket: formatDuration(o.bucketMs),
    from: new Date(to.getTime() - o.windowMs).toISOString(),
    to: to.toISOString(),
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
