// Public API of tasklane. Everything a user imports comes from here, including the type of every
// value the API takes or returns (test/foundation/public-api.test.ts checks it).
export { type Config, ConfigError, loadConfig } from './config.ts'
export type { AttemptOutcome } from './db/database.ts'
export type { Duration } from './duration.ts'
export type {
  CallerDb,
  KnexTransaction,
  PostgresJsTransaction,
  PrismaTransaction,
  QueryClient,
  SqlExecutor,
} from './enqueue/caller-db.ts'
export type { EnqueueOptions, EnqueueResult } from './enqueue/enqueue-request.ts'
export {
  ErrorCode,
  type ErrorDetail,
  NonRetryableError,
  TasklaneError,
  TaskTimeoutError,
} from './errors.ts'
export type {
  LaggedEvent,
  ProgressEvent,
  StatusEvent,
  TaskEvent,
  TaskStatus,
} from './events/event-types.ts'
export type { EventFilter, TaskState, TaskStream, TaskStreamOptions } from './events/task-stream.ts'
export { type TasklaneRoutesOptions, tasklaneRoutes } from './http/routes.ts'
export { type TasksEnv, withTasks } from './http/with-tasks.ts'
export type { TaskAttempt, TaskInfo } from './inspect/task-info.ts'
export type { ListTasksFilter, TaskPage } from './inspect/task-reader.ts'
export type { Logger } from './logger.ts'
export { type DrizzleSqlTagLike, type DrizzleTransactionLike, fromDrizzle } from './queue/from-drizzle.ts'
export type { ScheduleInfo, ScheduleOptions } from './schedule/schedules.ts'
export type { Analytics, AnalyticsBucket, TaskStats } from './stats/stats.service.ts'
export { createTasklane, type RetryFailedResult, Tasklane } from './tasklane.ts'
export type { QueueOptions, TasklaneOptions } from './tasklane-options.ts'
export {
  type ArgsSchema,
  defineTask,
  type RetryOptions,
  type RetryPolicy,
  type TaskContext,
  type TaskDefinition,
  type TaskOptions,
} from './tasks/define-task.ts'
export { TaskPriority } from './tasks/priority.ts'
export type {
  TaskAttemptEvent,
  TaskEnqueuedEvent,
  TaskFailureEvent,
  TasklaneHookEvents,
  TasklaneHookListener,
  TasklaneHookName,
  TaskProgressEvent,
  TaskSuccessEvent,
  WorkerStartEvent,
  WorkerStopEvent,
} from './telemetry/lifecycle-hooks.ts'
export type { ErrorInfo } from './worker/error-info.ts'
export type { WorkerInfo } from './workers/worker-info.ts'
