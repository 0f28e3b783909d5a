/** What travels on an app's events channel (`<schema>_events`, see events-channel.ts), between processes. */
export type TaskStatus =
  | 'scheduled'
  | 'queued'
  | 'running'
  | 'retrying'
  | 'completed'
  | 'failed'
  | 'cancelled'

export const FINAL_STATUSES: ReadonlySet<TaskStatus> = new Set(['completed', 'failed', 'cancelled'])

export interface StatusEvent {
  type: 'status'
  taskId: string
  task: string
  queue: string
  status: TaskStatus
  attempt?: number
  at: string
}

export interface ProgressEvent {
  type: 'progress'
  taskId: string
  task: string
  queue: string
  percent: number
  step: string | null
  at: string
}

/**
 * Sent by a task stream (`tasks.events()`, `GET /tasks/:id/events`, `GET /events`) to a consumer that
 * fell behind: the stream holds at most `bufferSize` events for it, and instead of growing it dropped
 * `dropped` of them. A fresh snapshot follows at once, as ordinary `status`/`progress` events:
 * - a stream of one task (`taskId`): the task's current status (and progress, unless it is final),
 *   read from the database; the stream ends after it if the task has finished;
 * - a stream of all tasks: the latest status (and progress) of each task whose events were dropped,
 *   as the stream last heard them. It holds at most `bufferSize` of them; `complete: false` says that
 *   more tasks changed than that, and that what you show should be re-read (`listTasks`, `GET /tasks`).
 * @example { "type": "lagged", "dropped": 98000, "complete": true, "taskId": "6f0c…", "at": "2026-01-01T00:00:00.000Z" }
 */
export interface LaggedEvent {
  type: 'lagged'
  /** Events this stream received for the consumer and never delivered (the snapshot replaces them). */
  dropped: number
  /** true when the snapshot that follows covers every task whose events were dropped. */
  complete: boolean
  /** The task of a one-task stream; absent on a stream of all tasks. */
  taskId?: string
  /** When the stream noticed (this process's clock, ISO 8601). */
  at: string
}

/** Asks whichever process runs `taskId` to abort it (the task was cancelled). */
export interface CancelEvent {
  type: 'cancel'
  taskId: string
  at: string
}

/** A change of one task, as published on the events channel. */
export type TaskChangeEvent = StatusEvent | ProgressEvent
/** What a task stream yields: a task's changes, or word that the consumer fell behind. */
export type TaskEvent = TaskChangeEvent | LaggedEvent
export type BusMessage = TaskChangeEvent | CancelEvent
