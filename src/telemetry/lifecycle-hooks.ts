import type { Logger } from '../logger.ts'
import type { TaskPriority } from '../tasks/priority.ts'
import type { ErrorInfo } from '../worker/error-info.ts'

/** A task was written (or found already written, `deduplicated`), in the process that enqueued it. */
export interface TaskEnqueuedEvent {
  taskId: string
  task: string
  queue: string
  priority: TaskPriority
  status: 'queued' | 'scheduled'
  deduplicated: boolean
}

/** What every attempt event carries. Attempt events fire in the worker process that runs the attempt. */
export interface TaskAttemptEvent {
  taskId: string
  task: string
  queue: string
  priority: TaskPriority
  /** 1 for the first attempt, 2 for the first retry, … */
  attempt: number
  maxAttempts: number
  workerId: string
  startedAt: Date
  /** Milliseconds from when the attempt was due (created, or its delay/backoff ended) to its start. */
  queueTimeMs: number
}

export interface TaskProgressEvent extends TaskAttemptEvent {
  /** 0–100, as reported by ctx.progress (every call, before the database write is throttled). */
  percent: number
  step: string | null
}

/** The attempt completed and its result is recorded. */
export interface TaskSuccessEvent extends TaskAttemptEvent {
  finishedAt: Date
  /** Milliseconds the attempt ran (task start to return). */
  durationMs: number
  result: unknown
}

/** The attempt failed and is recorded: `task:retry` when it will run again, `task:failure` when not. */
export interface TaskFailureEvent extends TaskAttemptEvent {
  finishedAt: Date
  durationMs: number
  error: ErrorInfo
  outcome: 'failed' | 'timeout'
}

export interface WorkerStartEvent {
  workerId: string
  /** Concurrency per queue run by this process. */
  queues: Record<string, number>
}

export interface WorkerStopEvent {
  workerId: string
  /** Milliseconds since the worker started. */
  uptimeMs: number
}

/** Every lifecycle event and its payload. */
export interface TasklaneHookEvents {
  'task:enqueued': TaskEnqueuedEvent
  'task:start': TaskAttemptEvent
  'task:progress': TaskProgressEvent
  'task:success': TaskSuccessEvent
  'task:failure': TaskFailureEvent
  'task:retry': TaskFailureEvent
  'worker:start': WorkerStartEvent
  'worker:stop': WorkerStopEvent
}

export type TasklaneHookName = keyof TasklaneHookEvents

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
