import type { PriorityCounts } from '../queue/job-store.ts'
import { PRIORITIES, type TaskPriority, toBossPriority } from '../tasks/priority.ts'
import { ratio, round } from './numbers.ts'
import { type LiveWorkers, liveWorkers, type WindowFigures, windowFigures } from './stats.repository.ts'
import type { StatsDeps } from './stats-deps.ts'

/**
 * Cluster-wide statistics (`tasks.getTaskStats()`, `GET /stats`, `tasklane stats`): the fields of
 * Catzilla's get_task_stats(), camelCased, computed in SQL so every process answers the same. Each is
 * defined in docs/stats.md. Units: counts are integers, times milliseconds, memory MiB; *Rate fields
 * are ratios from 0 to 1; *Utilization, *Efficiency and *CpuUsage are percents. Never null or NaN (a
 * ratio with nothing to divide by is 0). Queue sizes and worker figures are current; rates, percentiles
 * and counts cover the sliding window (`windowSeconds`, TASKLANE_STATS_WINDOW).
 * @example
 * const { totalQueued, activeWorkers, totalWorkers, p95ExecutionTimeMs } = await tasks.getTaskStats()
 */
export interface TaskStats {
  /** Ready tasks (due now, waiting to be leased) of priority CRITICAL. */
  criticalQueueSize: number
  /** Ready tasks of priority HIGH. */
  highQueueSize: number
  /** Ready tasks of priority NORMAL. */
  normalQueueSize: number
  /** Ready tasks of priority LOW. */
  lowQueueSize: number
  /** Every ready task: the sum of the four queue sizes. */
  totalQueued: number
  /** Tasks not yet due: a delay or startAfter in the future, or a retry waiting out its backoff. */
  scheduled: number
  /**
   * Ready tasks per worker slot, `totalQueued / totalWorkers` (> 1: more ready work than slots);
   * `totalQueued` when no worker is live.
   */
  queuePressure: number
  /** Worker slots running a task now, summed over live worker processes. */
  activeWorkers: number
  /** `totalWorkers - activeWorkers`. */
  idleWorkers: number
  /** Worker slots (every queue's concurrency) of live worker processes, summed. */
  totalWorkers: number
  /** Percent (0–100) of the slot time live workers offered in the window that was spent running attempts. */
  avgWorkerUtilization: number
  /** Tasks that completed or failed in the window, per second. */
  tasksPerSecond: number
  /** Mean run time, in milliseconds, of tasks that completed or failed in the window. */
  avgExecutionTimeMs: number
  /** 95th percentile of that run time, in milliseconds. */
  p95ExecutionTimeMs: number
  /** 99th percentile of that run time, in milliseconds. */
  p99ExecutionTimeMs: number
  /** Resident memory (RSS) of live worker processes, in MiB, summed. */
  memoryUsageMb: number
  /** `workerMemoryUsage / memoryUsageMb` in percent: the share of resident memory that is JavaScript heap. */
  memoryEfficiency: number
  /** CPU of live worker processes, in percent of one core, summed (200: two cores busy). */
  workerCpuUsage: number
  /** JavaScript heap in use by live worker processes, in MiB, summed. */
  workerMemoryUsage: number
  /** CPU time of the answering process since it started ÷ its wall time, in percent of one core. */
  engineCpuUsage: number
  /** Tasks that completed or failed in the window (cancelled ones are not counted). */
  totalTasksProcessed: number
  /** Tasks that failed for good in the window (retries spent, or NonRetryableError). */
  failedTasks: number
  /** `failedTasks / totalTasksProcessed`, from 0 to 1. */
  errorRate: number
  /** Seconds since the earliest start among the live worker processes and the answering instance. */
  uptimeSeconds: number
  /** Failed attempts in the window that were followed by another attempt. */
  retryCount: number
  /** Attempts in the window aborted by their task's timeout (retried or final). */
  timeoutCount: number
  /** The width of the window, in seconds (TASKLANE_STATS_WINDOW, 300 by default). */
  windowSeconds: number
}

/** CPU time of this process since it started, as a percent of one core. */
function processCpuPercent(): number {
  const { user, system } = process.cpuUsage()
  return ratio((user + system) / 1000, process.uptime() * 1000) * 100
}

/**
 * Computes TaskStats: live counts from the job store, worker figures from the registry of live processes,
 * rates and percentiles from history over the sliding window. Three queries, run in parallel.
 * @example const stats = await computeTaskStats({ db, jobs: store.reads, queues: ['default'], windowMs: 300_000, heartbeatTimeoutMs: 30_000, startedAt })
 */
export async function computeTaskStats(d: StatsDeps): Promise<TaskStats> {
  const [counts, workers, win] = await Promise.all([
    d.jobs.countByPriority(d.db, d.queues),
    liveWorkers(d.db, d.heartbeatTimeoutMs, d.windowMs),
    windowFigures(d.db, d.jobs, d.queues, d.windowMs),
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
  // Each age is measured on one clock: this instance's on its own, the oldest worker's on the
  // database's (comparing this clock's now with the database's started_at mixed the two).
  const uptimeMs = Math.max(Date.now() - d.startedAt.getTime(), workers.oldestAgeMs ?? 0)
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
    uptimeSeconds: Math.max(0, Math.round(uptimeMs / 1000)),
    retryCount: win.retries,
    timeoutCount: win.timeouts,
    windowSeconds,
  }
}

/** The priority level a stored priority rank belongs to (the nearest level at or below it). */
function levelOf(value: number): TaskPriority {
  return PRIORITIES.find((p) => value >= toBossPriority(p)) ?? 'LOW'
}

// computeAnalytics lives beside its own repository; tasklane.ts and users import it from here.
export { type Analytics, type AnalyticsBucket, computeAnalytics } from './analytics.service.ts'
// StatsDeps has a file of its own so that analytics.service.ts needs nothing from this one.
export type { StatsDeps } from './stats-deps.ts'
