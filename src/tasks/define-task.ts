import { type Duration, toMs, toTimerMs } from '../duration.ts'
import type { Logger } from '../logger.ts'
import { parsePriority, TaskPriority } from './priority.ts'

/** What a task's `run` receives besides its args. */
export interface TaskContext {
  taskId: string
  /** 1 for the first attempt, 2 for the first retry, … */
  attempt: number
  /** Aborted when the attempt times out, the task is cancelled, or the process shuts down. */
  signal: AbortSignal
  /** Records progress (0–100) and the current step; persisted (throttled) and streamed to listeners. */
  progress(percent: number, step?: string): Promise<void>
  log: Logger
}

/** Anything with a zod-like `safeParse`; optional. */
export interface ArgsSchema<T> {
  safeParse(value: unknown):
    | { success: true; data: T }
    | {
        success: false
        error: { issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }> }
      }
}

export interface RetryOptions {
  /** Retries after the first attempt (so limit 3 means at most 4 attempts). Default 2. */
  limit?: number
  /** Delay before the first retry. Default 1s. */
  delay?: Duration
  backoff?: 'fixed' | 'exponential'
  /** Cap for exponential backoff. */
  maxDelay?: Duration
}

export interface RetryPolicy {
  limit: number
  delayMs: number
  backoff: 'fixed' | 'exponential'
  maxDelayMs: number | null
}

export interface TaskOptions<Args, Result> {
  /** Unique, `[a-z0-9][a-z0-9._-]{0,99}`. */
  name: string
  schema?: ArgsSchema<Args>
  priority?: TaskPriority
  retry?: RetryOptions
  timeout?: Duration
  queue?: string
  /**
   * Dead-letter queue: a task that fails for good is parked for it — failed, marked with this queue
   * (`TaskInfo.deadLetter`), listed by `listTasks({ deadLettered: true })`, run again only by
   * `retry`/`retryFailed`; never run in that queue (docs/reliability.md).
   * @example defineTask({ name: 'charge', deadLetter: 'billing-dead', retry: { limit: 3 }, run })
   */
  deadLetter?: string
  /** 'thread' runs the task in the worker-thread pool; `module` must then name a file exporting it. */
  mode?: 'inline' | 'thread'
  module?: string | URL
  memoryLimitMb?: number
  run(args: Args, ctx: TaskContext): Result | Promise<Result>
}

export interface TaskDefinition<Args = unknown, Result = unknown> {
  readonly kind: 'tasklane.task'
  readonly name: string
  readonly queue: string
  readonly priority: TaskPriority
  readonly retry: RetryPolicy
  readonly timeoutMs: number | null
  readonly deadLetter: string | null
  readonly mode: 'inline' | 'thread'
  readonly module: string | null
  readonly memoryLimitMb: number | null
  readonly schema: ArgsSchema<Args> | undefined
  readonly run: (args: Args, ctx: TaskContext) => Result | Promise<Result>
}

export const TASK_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,99}$/
export const QUEUE_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,49}$/

export function normalizeRetry(retry: RetryOptions | undefined, what: string): RetryPolicy {
  const limit = retry?.limit ?? 2
  if (!Number.isInteger(limit) || limit < 0 || limit > 1000) {
    throw new TypeError(`${what}.limit must be an integer from 0 to 1000 (got ${JSON.stringify(limit)})`)
  }
  const backoff = retry?.backoff ?? 'fixed'
  if (backoff !== 'fixed' && backoff !== 'exponential') {
    throw new TypeError(`${what}.backoff must be 'fixed' or 'exponential' (got ${JSON.stringify(backoff)})`)
  }
  return {
    limit,
    delayMs: toMs(retry?.delay ?? '1s', `${what}.delay`),
    backoff,
    maxDelayMs: retry?.maxDelay === undefined ? null : toMs(retry.maxDelay, `${what}.maxDelay`),
  }
}

/**
 * Defines a task: a named, persisted unit of background work.
 * @example
 * const sendReminder = defineTask({ name: 'send-reminder', async run(args: { userId: string }) { return { sent: true } } })
 */
export function defineTask<Args = unknown, Result = unknown>(
  options: TaskOptions<Args, Result>,
): TaskDefinition<Args, Result> {
  const { name } = options
  if (typeof name !== 'string' || !TASK_NAME_PATTERN.test(name)) {
    throw new TypeError(
      `task name ${JSON.stringify(name)} is invalid: use 1–100 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit`,
    )
  }
  if (typeof options.run !== 'function') throw new TypeError(`task '${name}' needs a run(args, ctx) function`)
  const queue = options.queue ?? 'default'
  if (!QUEUE_NAME_PATTERN.test(queue)) {
    throw new TypeError(`task '${name}': queue ${JSON.stringify(queue)} is invalid: use a-z, 0-9, '_' or '-'`)
  }
  const priority = options.priority === undefined ? TaskPriority.NORMAL : parsePriority(options.priority)
  if (!priority)
    throw new TypeError(`task '${name}': priority must be one of TaskPriority.CRITICAL, HIGH, NORMAL, LOW`)
  const mode = options.mode ?? 'inline'
  if (mode === 'thread' && !options.module) {
    throw new TypeError(`task '${name}': mode 'thread' needs module: the path of a file exporting this task`)
  }
  return Object.freeze({
    kind: 'tasklane.task',
    name,
    queue,
    priority,
    retry: normalizeRetry(options.retry, `task '${name}' retry`),
    timeoutMs: options.timeout === undefined ? null : toTimerMs(options.timeout, `task '${name}' timeout`),
    deadLetter: options.deadLetter ?? null,
    mode,
    module: options.module ? String(options.module) : null,
    memoryLimitMb: options.memoryLimitMb ?? null,
    schema: options.schema,
    run: options.run,
  })
}

export function isTaskDefinition(value: unknown): value is TaskDefinition<any, any> {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'tasklane.task'
}
