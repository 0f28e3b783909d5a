import { type Duration, toMs, toTimerMs } from '../duration.ts'
import type { Logger } from '../logger.ts'
import { parsePriority, TaskPriority } from './priority.ts'

/**
 * What a task's `run` receives besides its args.
 * @example
 * async run(args: { url: string }, ctx) {
 *   ctx.log.info({ url: args.url }, 'fetching')
 *   const res = await fetch(args.url, { signal: ctx.signal })
 *   await ctx.progress(50, 'Downloaded')
 *   return { status: res.status, attempt: ctx.attempt }
 * }
 */
export interface TaskContext {
  /**
   * The task's id (a UUID), the same on every attempt: use it as the idempotency key of the task's
   * side effects (docs/reliability.md).
   */
  taskId: string
  /**
   * 1 for the first attempt, 2 for the first retry, … A task handed back at shutdown keeps its
   * attempt number.
   */
  attempt: number
  /**
   * Aborted when the attempt times out (reason: a TaskTimeoutError), the task is cancelled, or the
   * process shuts down. JavaScript cannot stop a promise: pass the signal on (fetch, queries) or
   * check it, since code that ignores it runs on after the attempt is over and its result is dropped.
   */
  signal: AbortSignal
  /**
   * Records progress and the current step; stored (the latest value, written at most every 250 ms)
   * and streamed to listeners (`tasks.events()`, SSE). `percent` is clamped to 0–100; a `percent`
   * that is not a finite number throws a TypeError. A `step` PostgreSQL cannot store (a NUL
   * character, an unpaired surrogate, more than 1,048,576 characters) fails the attempt at once,
   * without retries, as `OutcomeNotStored` (docs/values.md).
   * @example await ctx.progress(40, 'Rendering page 4 of 10')
   */
  progress(percent: number, step?: string): Promise<void>
  /** A pino logger whose lines carry `{ taskId, task, attempt }` (and trace ids while tracing). */
  log: Logger
}

/**
 * Anything with a zod-like `safeParse` (a zod schema fits as it is): it checks a task's args at
 * enqueue and turns the stored JSON into `run`'s args at run time.
 * @example
 * defineTask({ name: 'resize', schema: z.object({ imageId: z.string(), width: z.number().int() }), run })
 */
export interface ArgsSchema<T> {
  /**
   * `{ success: true, data }` with the value `run` receives, or `{ success: false, error }` whose
   * `issues` (path, message) become the `args.<path>` details of the `validation_failed` error.
   */
  safeParse(value: unknown):
    | { success: true; data: T }
    | {
        success: false
        error: { issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }> }
      }
}

/**
 * How a failed attempt is retried (docs/values.md, "Retries"). A value out of bounds throws a
 * TypeError naming it (`retry.limit must be an integer from 0 to 1000`), from defineTask() for a
 * task's policy and from addTask() for a per-call override.
 * @example
 * defineTask({ name: 'charge', retry: { limit: 5, delay: '2s', backoff: 'exponential', maxDelay: '5m' }, run })
 */
export interface RetryOptions {
  /** Retries after the first attempt (limit 3: at most 4 attempts), an integer from 0 to 1000. Default 2. */
  limit?: number
  /** Delay before a retry is ready, counted from the failure on the database's clock. Default 1s. */
  delay?: Duration
  /**
   * `'fixed'` (default): every retry waits `delay`. `'exponential'`: the n-th retry waits
   * `delay × 2^(n−1)` times a random factor in [1, 2), capped at `maxDelay`.
   */
  backoff?: 'fixed' | 'exponential'
  /** Cap of an exponential backoff's wait. Default: none. */
  maxDelay?: Duration
}

/** A task's retry policy, resolved: durations in milliseconds (TaskDefinition.retry). */
export interface RetryPolicy {
  /** Retries after the first attempt, 0 to 1000. */
  limit: number
  /** Wait before a retry, in milliseconds. */
  delayMs: number
  /** `'fixed'` or `'exponential'` (see RetryOptions.backoff). */
  backoff: 'fixed' | 'exponential'
  /** Cap of an exponential wait, in milliseconds; null: none. */
  maxDelayMs: number | null
}

/**
 * What defineTask() takes. Only `name` and `run` are required.
 * @example
 * defineTask({
 *   name: 'send-reminder',
 *   schema: z.object({ userId: z.string() }),
 *   priority: TaskPriority.HIGH,
 *   retry: { limit: 3, delay: '1s', backoff: 'exponential', maxDelay: '5m' },
 *   timeout: '30s',
 *   queue: 'emails',
 *   async run(args, ctx) { return { sent: true } },
 * })
 */
export interface TaskOptions<Args, Result> {
  /**
   * Unique among the tasks of an instance: 1 to 100 characters of a-z, 0-9, '.', '_', '-', starting
   * with a letter or digit (`[a-z0-9][a-z0-9._-]{0,99}`). It is what is stored with each task.
   */
  name: string
  /**
   * Checks the args at enqueue (a `validation_failed` error naming `args.<field>`, nothing written)
   * and parses the stored args again at run time: `run` receives the schema's output. Default: none
   * (args must then be plain JSON).
   */
  schema?: ArgsSchema<Args>
  /** Default priority of this task's enqueues (each addTask may override it). Default NORMAL. */
  priority?: TaskPriority
  /** Retry policy of a failed attempt. Default `{ limit: 2, delay: '1s', backoff: 'fixed' }`. */
  retry?: RetryOptions
  /**
   * Longest an attempt may run, at most 2147483647 ms (about 24.8 days): past it `ctx.signal` aborts
   * with a TaskTimeoutError and the attempt fails (and is retried per `retry`). Default: none.
   */
  timeout?: Duration
  /**
   * The queue the task runs in; each queue has its own concurrency (TasklaneOptions.queues). 1 to 50
   * characters of a-z, 0-9, '_', '-' (`[a-z0-9][a-z0-9_-]{0,49}`). Default `'default'`.
   */
  queue?: string
  /**
   * Dead-letter queue: a task that fails for good is parked for it — failed, marked with this queue
   * (`TaskInfo.deadLetter`), listed by `listTasks({ deadLettered: true })`, run again only by
   * `retry`/`retryFailed`; never run in that queue (docs/reliability.md).
   * @example defineTask({ name: 'charge', deadLetter: 'billing-dead', retry: { limit: 3 }, run })
   */
  deadLetter?: string
  /**
   * `'inline'` (default) runs the task on the worker's event loop; `'thread'` runs it in the
   * worker-thread pool (TasklaneOptions.threads), so CPU-bound work never blocks HTTP, heartbeats or
   * leases. A thread task needs `module`.
   */
  mode?: 'inline' | 'thread'
  /**
   * For `mode: 'thread'`: the module a thread imports to find this task by name among its exports,
   * usually `import.meta.url` of the file defining it. A URL, or a path resolved from the process's
   * working directory.
   */
  module?: string | URL
  /**
   * For `mode: 'thread'`: cap of the thread's heap, in MiB (V8's old generation). Exceeding it fails
   * that attempt with TaskMemoryLimitError (retried per `retry`); the pool and the process carry on.
   * Default: V8's default heap limit.
   */
  memoryLimitMb?: number
  /**
   * The work, sync or async. Its return value is the task's result: JSON, stored in the same
   * transaction as the completion (a result PostgreSQL cannot store fails the task at once as
   * `OutcomeNotStored`). Throw NonRetryableError to fail at once; any other throw fails the attempt
   * and `retry` applies.
   */
  run(args: Args, ctx: TaskContext): Result | Promise<Result>
}

/**
 * A task made by defineTask(): the options validated and resolved (durations in milliseconds), frozen.
 * Pass it to createTasklane({ tasks }) and addTask().
 * @example const def: TaskDefinition<{ userId: string }, { sent: boolean }> = sendReminder
 */
export interface TaskDefinition<Args = unknown, Result = unknown> {
  /** Always `'tasklane.task'`: how addTask tells a task from an arbitrary function. */
  readonly kind: 'tasklane.task'
  /** The task's unique name (TaskOptions.name). */
  readonly name: string
  /** The queue it runs in (default `'default'`). */
  readonly queue: string
  /** Its default priority (default NORMAL). */
  readonly priority: TaskPriority
  /** Its retry policy, in milliseconds. */
  readonly retry: RetryPolicy
  /** Longest an attempt may run, in milliseconds; null: no timeout. */
  readonly timeoutMs: number | null
  /** The dead-letter queue a final failure is parked for; null: none. */
  readonly deadLetter: string | null
  /** Where it runs: the worker's event loop or the worker-thread pool. */
  readonly mode: 'inline' | 'thread'
  /** The module a thread imports (a URL or a path), for `mode: 'thread'`; else null. */
  readonly module: string | null
  /** Heap cap of its thread in MiB; null: V8's default. */
  readonly memoryLimitMb: number | null
  /** The args schema, if any. */
  readonly schema: ArgsSchema<Args> | undefined
  /** The task's function (TaskOptions.run). */
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
 * Defines a task: a named, persisted unit of background work. Define it once at module level and
 * register it in createTasklane({ tasks }); addTask() then enqueues it by this definition. Throws a
 * TypeError naming the option for an invalid name, queue or priority, a missing `run`, `mode:
 * 'thread'` without `module`, or a retry policy or timeout out of bounds (see TaskOptions).
 * @example
 * export const sendReminder = defineTask({
 *   name: 'send-reminder',
 *   schema: z.object({ userId: z.string() }),
 *   retry: { limit: 3, backoff: 'exponential' },
 *   async run({ userId }, ctx) {
 *     await ctx.progress(50, 'Sending email')
 *     return { sent: true }
 *   },
 * })
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
