import type { Logger } from '../logger.ts'
import type { TaskPriority } from '../tasks/priority.ts'
import type { ErrorInfo } from '../worker/error-info.ts'

/**
 * Payload of `task:enqueued`: a task was written (or found already written, `deduplicated`), in the
 * process that enqueued it; with `db`, inside the caller's transaction, before it commits.
 * @example tasks.on('task:enqueued', (e) => enqueued.add(1, { task: e.task, deduplicated: e.deduplicated }))
 */
export interface TaskEnqueuedEvent {
  /** The task's id (a UUID). */
  taskId: string
  /** The task's name. */
  task: string
  /** The queue it runs in. */
  queue: string
  /** Its priority. */
  priority: TaskPriority
  /** `'scheduled'` when its start is in the future, else `'queued'` (as EnqueueResult.status). */
  status: 'queued' | 'scheduled'
  /** True when an idempotency key matched an earlier request: nothing new was written. */
  deduplicated: boolean
}

/**
 * Payload of `task:start`, and what every attempt event carries. Attempt events fire in the worker
 * process that runs the attempt (docs/observability.md).
 * @example tasks.on('task:start', (e) => histogram.record(e.queueTimeMs, { task: e.task }))
 */
export interface TaskAttemptEvent {
  /** The task's id (a UUID). */
  taskId: string
  /** The task's name. */
  task: string
  /** The queue it runs in. */
  queue: string
  /** Its priority. */
  priority: TaskPriority
  /** 1 for the first attempt, 2 for the first retry, … */
  attempt: number
  /** The most attempts the task gets: its retry limit + 1. */
  maxAttempts: number
  /** The worker process running the attempt (TasklaneOptions.workerId). */
  workerId: string
  /** When the attempt started, on the database's clock. */
  startedAt: Date
  /** Milliseconds from when the attempt was due (created, or its delay/backoff ended) to its start. */
  queueTimeMs: number
}

/**
 * Payload of `task:progress`: the attempt called `ctx.progress`.
 * @example tasks.on('task:progress', (e) => console.log(`${e.task} ${e.percent}% ${e.step ?? ''}`))
 */
export interface TaskProgressEvent extends TaskAttemptEvent {
  /** 0–100, as reported by ctx.progress (every call, before the database write is throttled). */
  percent: number
  /** The step reported with it; null when none. */
  step: string | null
}

/**
 * Payload of `task:success`: the attempt completed and its result is recorded.
 * @example tasks.on('task:success', (e) => histogram.record(e.durationMs, { task: e.task }))
 */
export interface TaskSuccessEvent extends TaskAttemptEvent {
  /** When the attempt returned, on the database's clock (startedAt + durationMs). */
  finishedAt: Date
  /** Milliseconds the attempt ran (task start to return), not counting the commit of its outcome. */
  durationMs: number
  /** What `run` returned, as stored (JSON). */
  result: unknown
}

/**
 * Payload of `task:retry` (the task will run again) and `task:failure` (it will not: retries spent, a
 * NonRetryableError, or a result that could not be stored): the failed attempt is recorded.
 * @example tasks.on('task:failure', (e) => alerts.send(`${e.task} ${e.taskId} failed: ${e.error.message}`))
 */
export interface TaskFailureEvent extends TaskAttemptEvent {
  /** When the attempt threw or timed out, on the database's clock. */
  finishedAt: Date
  /** Milliseconds the attempt ran before it threw or timed out. */
  durationMs: number
  /** The error recorded for the attempt. */
  error: ErrorInfo
  /** `'timeout'` when the task's timeout aborted the attempt, else `'failed'`. */
  outcome: 'failed' | 'timeout'
}

/**
 * Payload of `worker:start`: start() finished in a process that runs workers.
 * @example tasks.on('worker:start', (e) => console.log(`${e.workerId} runs`, e.queues))
 */
export interface WorkerStartEvent {
  /** This process's worker id (TasklaneOptions.workerId). */
  workerId: string
  /** Concurrency per queue run by this process. */
  queues: Record<string, number>
}

/**
 * Payload of `worker:stop`: stop() finished in a process that ran workers.
 * @example tasks.on('worker:stop', (e) => console.log(`${e.workerId} stopped after ${e.uptimeMs} ms`))
 */
export interface WorkerStopEvent {
  /** This process's worker id (TasklaneOptions.workerId). */
  workerId: string
  /** Milliseconds since the worker started. */
  uptimeMs: number
}

/**
 * Every lifecycle event of `tasks.on()` and its payload (docs/observability.md, "Lifecycle hooks").
 * @example const listener = (e: TasklaneHookEvents['task:failure']) => console.error(e.error.message)
 */
export interface TasklaneHookEvents {
  /** A task was written, in the enqueuing process. */
  'task:enqueued': TaskEnqueuedEvent
  /** An attempt started, in the worker. */
  'task:start': TaskAttemptEvent
  /** The attempt called ctx.progress (every call). */
  'task:progress': TaskProgressEvent
  /** The attempt's completion is recorded. */
  'task:success': TaskSuccessEvent
  /** A failed attempt is recorded and it was the last. */
  'task:failure': TaskFailureEvent
  /** A failed attempt is recorded and the task will run again. */
  'task:retry': TaskFailureEvent
  /** This process's workers started. */
  'worker:start': WorkerStartEvent
  /** This process's workers stopped. */
  'worker:stop': WorkerStopEvent
}

/** The name of a lifecycle event: `'task:enqueued'`, `'task:start'`, …, `'worker:stop'`. */
export type TasklaneHookName = keyof TasklaneHookEvents

/**
 * A listener of the event `K`. Called synchronously, in the order added; a throw or a rejected promise
 * is logged and ignored, never changing a task's outcome.
 */
export type TasklaneHookListener<K extends TasklaneHookName> = (
  event: TasklaneHookEvents[K],
) => void | Promise<void>

export const HOOK_NAMES: readonly TasklaneHookName[] = Object.freeze([
  'task:enqueued',
  'task:start',
  'task:progress',
  'task:success',
  'task:failure',
  'task:retry',
  'worker:start',
  'worker:stop',
])

type AnyListener = (event: never) => void | Promise<void>

/**
 * In-process lifecycle events (Oban's telemetry, graphile-worker's `events`): listeners are called in
 * order, synchronously, at each step. A listener that throws or rejects is logged and ignored: it never
 * changes a task's outcome. Emitters check `has()` first, so an event nobody listens to costs nothing.
 */
export class TasklaneHooks {
  readonly #listeners = new Map<TasklaneHookName, AnyListener[]>()
  readonly #log: Logger

  constructor(log: Logger) {
    this.#log = log
  }

  /** Adds a listener; returns a function that removes it. Throws a TypeError naming the valid events. */
  on<K extends TasklaneHookName>(name: K, listener: TasklaneHookListener<K>): () => void {
    if (!HOOK_NAMES.includes(name)) {
      throw new TypeError(
        `unknown tasklane event ${JSON.stringify(name)}: use one of ${HOOK_NAMES.join(', ')}`,
      )
    }
    if (typeof listener !== 'function') {
      throw new TypeError(`tasks.on('${name}', listener): listener must be a function`)
    }
    // Copy on write: an emit in progress keeps iterating the list it started with.
    this.#listeners.set(name, [...(this.#listeners.get(name) ?? []), listener as AnyListener])
    return () => this.off(name, listener)
  }

  off<K extends TasklaneHookName>(name: K, listener: TasklaneHookListener<K>): void {
    const list = this.#listeners.get(name)
    if (!list) return
    const rest = list.filter((l) => l !== listener)
    if (rest.length > 0) this.#listeners.set(name, rest)
    else this.#listeners.delete(name)
  }

  has(name: TasklaneHookName): boolean {
    return this.#listeners.has(name)
  }

  emit<K extends TasklaneHookName>(name: K, event: TasklaneHookEvents[K]): void {
    const list = this.#listeners.get(name)
    if (!list) return
    for (const listener of list) {
      try {
        const result = (listener as TasklaneHookListener<K>)(event)
        if (result && typeof (result as Promise<void>).then === 'function') {
          ;(result as Promise<void>).then(undefined, (err: unknown) => this.#failed(name, err))
        }
      } catch (err) {
        this.#failed(name, err)
      }
    }
  }

  #failed(name: TasklaneHookName, err: unknown): void {
    this.#log.warn({ err, event: name }, 'a tasklane event listener failed; the task is not affected')
  }
}
