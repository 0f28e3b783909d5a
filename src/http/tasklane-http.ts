import type { Readiness } from '../db/readiness.repository.ts'
import type { Duration } from '../duration.ts'
import type { EnqueueRequest, EnqueueResult } from '../enqueue/enqueue-request.ts'
import type { EventFilter, TaskStream, TaskStreamOptions } from '../events/task-stream.ts'
import type { TaskAttempt, TaskInfo } from '../inspect/task-info.ts'
import type { ListTasksFilter, TaskPage } from '../inspect/task-reader.ts'
import type { Logger } from '../logger.ts'
import type { ScheduleInfo } from '../schedule/schedules.ts'
import type { MetricsSnapshot } from '../stats/metrics.service.ts'
import type { Analytics, TaskStats } from '../stats/stats.service.ts'
import type { TaskDefinition } from '../tasks/define-task.ts'
import type { WorkerInfo } from '../workers/worker-info.ts'

/**
 * Everything the HTTP layer (tasklaneRoutes, the dashboard, `tasklane serve`) uses of a tasklane
 * instance, and nothing else: routes depend on this, not on the Tasklane class, so what they can
 * reach is written here. An instance gives its own (tasklane-engine.ts); every method answers from
 * the same services as the instance's public methods, once it is started.
 */
export interface TasklaneHttp {
  readonly log: Logger
  /** Defaults of the routes' options: TASKLANE_API_TOKEN and TASKLANE_MAX_BODY. */
  readonly apiToken: string | undefined
  readonly maxBodyBytes: number
  /** Names of the registered tasks, and the queues they run in (the dashboard's filters). */
  taskNames(): string[]
  taskQueues(): string[]
  /** The registered task named `name`; an unknown_task error (404) listing the known ones otherwise. */
  requireTask(name: string): TaskDefinition<unknown, unknown>
  /** Writes requests the route built and validated itself (to report errors per item). */
  enqueueRequests(requests: EnqueueRequest[]): Promise<EnqueueResult[]>
  getTask(taskId: string): Promise<TaskInfo | null>
  getAttempts(taskId: string): Promise<TaskAttempt[]>
  listTasks(filter: ListTasksFilter): Promise<TaskPage>
  cancel(taskId: string): Promise<TaskInfo>
  retry(taskId: string): Promise<TaskInfo>
  retryFailed(taskName: string): Promise<{ retried: number }>
  listWorkers(): Promise<WorkerInfo[]>
  listSchedules(opts: { count?: number }): Promise<ScheduleInfo[]>
  previewSchedule(
    cron: string,
    opts: { tz?: string; count?: number; from?: Date | string },
  ): Promise<string[]>
  getTaskStats(): Promise<TaskStats>
  getAnalytics(opts: { window?: Duration; bucket?: Duration; task?: string }): Promise<Analytics>
  /** What GET /metrics renders: TaskStats and more, from the same dependencies as getTaskStats(). */
  getMetrics(): Promise<MetricsSnapshot>
  /** GET /ready: throws when the database does not answer. */
  readiness(): Promise<Readiness>
  /** The task stream the SSE routes forward (see Tasklane.events). */
  events(filter: EventFilter, options?: TaskStreamOptions): TaskStream<TaskInfo>
}
