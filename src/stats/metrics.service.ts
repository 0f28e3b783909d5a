import { liveWorkers, runTimeHistogram, windowFigures } from './stats.repository.ts'
import { assembleTaskStats, type StatsDeps, type TaskStats } from './stats.service.ts'

/** Upper bounds of the run-time histogram, in seconds (Prometheus' defaults, stretched to 5 minutes). */
export const RUN_TIME_BOUNDS_S = Object.freeze([
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
])

export interface MetricsSnapshot {
  stats: TaskStats
  /** Tasks that finished in the window, by outcome. */
  finished: { completed: number; failed: number; cancelled: number }
  /** Cumulative counts of run times at or below each bound of RUN_TIME_BOUNDS_S, over the window. */
  runTime: { boundsSeconds: readonly number[]; buckets: number[]; count: number; sumSeconds: number }
  workerProcesses: number
}

/**
 * Everything /metrics exposes: TaskStats plus outcome counts and a run-time histogram, all over the
 * same sliding window (four queries in parallel).
 * @example const m = await computeMetrics(deps)
 */
export async function computeMetrics(d: StatsDeps): Promise<MetricsSnapshot> {
  const [counts, workers, win, hist] = await Promise.all([
    d.jobs.countByPriority(d.db, d.queues),
    liveWorkers(d.db, d.heartbeatTimeoutMs, d.windowMs),
    windowFigures(d.db, d.jobs, d.queues, d.windowMs),
    runTimeHistogram(
      d.db,
      d.windowMs,
      RUN_TIME_BOUNDS_S.map((s) => s * 1000),
    ),
  ])
  return {
    stats: assembleTaskStats(d, counts, workers, win),
    finished: { completed: win.completed, failed: win.failed, cancelled: win.cancelled },
    runTime: {
      boundsSeconds: RUN_TIME_BOUNDS_S,
      buckets: hist.buckets,
      count: hist.count,
      sumSeconds: hist.sumMs / 1000,
    },
    workerProcesses: workers.processes,
  }
}
