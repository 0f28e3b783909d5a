import { type ControlDeps, cancelTask, retryTask } from './control/task-control.ts'
import { checkReadiness, type Readiness } from './db/readiness.repository.ts'
import type { Duration } from './duration.ts'
import { toMs, toTimerMs } from './duration.ts'
import { EnqueueService } from './enqueue/enqueue.service.ts'
import { TasklaneError } from './errors.ts'
import { type EventFilter, TaskStream, type TaskStreamOptions } from './events/task-stream.ts'
import { waitForTask } from './events/wait-for-task.ts'
import type { TaskInfo } from './inspect/task-info.ts'
import type { TaskReader } from './inspect/task-reader.ts'
import type { Settings } from './resolve-settings.ts'
import {
  checkCount,
  listSchedules,
  previewSchedule,
  type ScheduleDeps,
  type ScheduleInfo,
  type ScheduleOptions,
  scheduleTask,
  unscheduleTask,
} from './schedule/schedules.ts'
import type { MetricsSnapshot } from './stats/metrics.service.ts'
import type { Analytics, TaskStats } from './stats/stats.service.ts'
import type { StatsDeps } from './stats/stats-deps.ts'
import type { Runtime } from './tasklane-runtime.ts'
import type { TaskRegistry } from './tasks/registry.ts'
import type { TasklaneHooks } from './telemetry/lifecycle-hooks.ts'
import type { WorkerInfo } from './workers/worker-info.ts'
import { listLiveWorkers } from './workers/worker-process.repository.ts'

/**
 * What a started instance does, each service built once, when it starts, with its dependencies bound:
 * the public methods of Tasklane and the HTTP API both call these, so the two cannot disagree.
 */
export interface TasklaneServices {
  enqueue: EnqueueService
  reader: TaskReader
  events: {
    /** A bounded stream of task events (see Tasklane.events). */
    stream(filter: EventFilter, options?: TaskStreamOptions): TaskStream<TaskInfo>
    /** The final TaskInfo of a task (see Tasklane.waitFor). */
    waitFor(taskId: string, opts?: { timeout?: Duration }): Promise<TaskInfo>
  }
  control: {
    cancel(taskId: string): Promise<TaskInfo>
    retry(taskId: string): Promise<TaskInfo>
    retryFailed(taskName: string, opts?: { limit?: number }): Promise<{ retried: number }>
  }
  stats: {
    taskStats(): Promise<TaskStats>
    analytics(opts?: { window?: Duration; bucket?: Duration; task?: string }): Promise<Analytics>
    /** TaskStats plus what only /metrics shows, over the same window and queues. */
    metrics(): Promise<MetricsSnapshot>
  }
  schedules: {
    schedule(taskName: string, cron: string, args?: unknown, opts?: ScheduleOptions): Promise<void>
    unschedule(taskName: string, opts?: { key?: string }): Promise<boolean>
    list(opts?: { count?: number }): Promise<ScheduleInfo[]>
    preview(cron: string, opts?: { tz?: string; count?: number; from?: Date | string }): Promise<string[]>
  }
  workers: { list(): Promise<WorkerInfo[]> }
  /** Reachable and migrated? Throws the driver's error when the database does not answer. */
  readiness(): Promise<Readiness>
}

/** What the services need besides the runtime's parts. */
export interface ServicesContext {
  settings: Settings
  registry: TaskRegistry
  hooks: TasklaneHooks
  /** Every queue this instance knows: its tasks' and those of `queues`. */
  queueNames: readonly string[]
  startedAt: Date
}

/** Builds the services of a started runtime. */
export function createServices(r: Runtime, ctx: ServicesContext): TasklaneServices {
  const { settings, registry } = ctx
  const db = r.db.kysely
  const queues = () => [...ctx.queueNames]
  const controlDeps: ControlDeps = {
    db,
    store: r.store,
    registry,
    publisher: r.publisher,
    queues,
  }
  // One set of stats dependencies, for getTaskStats(), getAnalytics() and /metrics alike.
  const statsDeps: StatsDeps = {
    db,
    jobs: r.store.reads,
    queues: queues(),
    windowMs: settings.statsWindowMs,
    heartbeatTimeoutMs: settings.heartbeatTimeoutMs,
    startedAt: ctx.startedAt,
  }
  const scheduleDeps: ScheduleDeps = { db, registry }
  const reader = r.reader
  // A task's state as streams read it (no queue position: a stream re-reads often).
  const readState = (taskId: string) => reader.get(taskId, { withPosition: false })
  const stream = (filter: EventFilter, { bufferSize, recheckInterval }: TaskStreamOptions = {}) =>
    new TaskStream<TaskInfo>(r.bus, {
      filter,
      readState,
      ...(bufferSize !== undefined ? { bufferSize } : {}),
      ...(recheckInterval !== undefined ? { recheckMs: toTimerMs(recheckInterval, 'recheckInterval') } : {}),
    })
  const afterControl = async (taskId: string) => (await reader.get(taskId))!
  return {
    enqueue: new EnqueueService({
      db,
      schema: settings.schema,
      writer: { store: r.store },
      committer: r.committer,
      registry,
      hooks: ctx.hooks,
    }),
    reader,
    events: {
      stream,
      waitFor: (taskId, { timeout = '30s' } = {}) => {
        const timeoutMs = toMs(timeout, 'timeout')
        return waitForTask(stream({ taskId }), readState, taskId, timeoutMs)
      },
    },
    control: {
      cancel: async (taskId) => {
        await cancelTask(controlDeps, taskId)
        return afterControl(taskId)
      },
      retry: async (taskId) => {
        await retryTask(controlDeps, taskId)
        return afterControl(taskId)
      },
      retryFailed: (taskName, { limit = 1000 } = {}) => retryFailed(controlDeps, reader, taskName, limit),
    },
    stats: {
      // Loaded on first use: a worker process that never reports does without the stats SQL.
      taskStats: async () => (await import('./stats/stats.service.ts')).computeTaskStats(statsDeps),
      analytics: async (opts = {}) =>
        (await import('./stats/stats.service.ts')).computeAnalytics(statsDeps, {
          windowMs: toMs(opts.window ?? '24h', 'window'),
          bucketMs: toMs(opts.bucket ?? '1h', 'bucket'),
          ...(opts.task ? { task: opts.task } : {}),
        }),
      metrics: async () => (await import('./stats/metrics.service.ts')).computeMetrics(statsDeps),
    },
    schedules: {
      schedule: (taskName, cron, args = {}, opts = {}) =>
        scheduleTask(scheduleDeps, taskName, cron, args, opts),
      unschedule: (taskName, opts = {}) => unscheduleTask(scheduleDeps, taskName, opts.key),
      list: ({ count = 5 } = {}) => listSchedules(scheduleDeps, checkCount(count)),
      preview: (cron, opts = {}) => previewSchedule(scheduleDeps, cron, opts),
    },
    workers: { list: () => listWorkers(r, settings.heartbeatTimeoutMs) },
    readiness: () => checkReadiness(db, settings.schema),
  }
}

/**
 * Runs again every failed task of one name (dead-lettered included), up to `limit`, a page at a
 * time; a task that changed state meanwhile is skipped.
 */
async function retryFailed(
  deps: ControlDeps,
  reader: TaskReader,
  taskName: string,
  limit: number,
): Promise<{ retried: number }> {
  deps.registry.require(taskName)
  let retried = 0
  let seen = 0
  let cursor: string | undefined
  do {
    const page = await reader.list({
      status: 'failed',
      task: taskName,
      limit: Math.min(500, limit - seen),
      ...(cursor ? { cursor } : {}),
    })
    for (const t of page.items) {
      seen++
      try {
        await retryTask(deps, t.taskId)
        retried++
      } catch (err) {
        if (!(err instanceof TasklaneError) || err.code !== 'state_conflict') throw err
      }
    }
    cursor = page.nextCursor ?? undefined
  } while (cursor && seen < limit)
  return { retried }
}

async function listWorkers(r: Runtime, heartbeatTimeoutMs: number): Promise<WorkerInfo[]> {
  const rows = await listLiveWorkers(r.db.kysely, heartbeatTimeoutMs)
  return rows.map((w) => ({
    id: w.id,
    host: w.host,
    pid: w.pid,
    queues: w.queues as Record<string, number>,
    concurrency: w.concurrency,
    busy: w.busy,
    rssMb: Math.round(w.rss_mb * 10) / 10,
    cpuPercent: Math.round(w.cpu_percent * 10) / 10,
    startedAt: new Date(w.started_at).toISOString(),
    heartbeatAt: new Date(w.heartbeat_at).toISOString(),
  }))
}
