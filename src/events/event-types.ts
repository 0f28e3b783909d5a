// What travels on an app's events channel (`<schema>_events`, see events-channel.ts), between processes,
// and what task streams (`tasks.events()`, SSE) yield.

/**
 * Where a task is in its life: `scheduled` (its start is in the future) → `queued` (ready) → `running`
 * → `completed` | `failed` | `cancelled`, with `retrying` between a failed attempt and the next. The
 * last three are final.
 * @example const done = (s: TaskStatus) => s === 'completed' || s === 'failed' || s === 'cancelled'
 */
export type TaskStatus =
  | 'scheduled'
  | 'queued'
  | 'running'
  | 'retrying'
  | 'completed'
  | 'failed'
  | 'cancelled'

export const FINAL_STATUSES: ReadonlySet<TaskStatus> = new Set(['completed', 'failed', 'cancelled'])

/**
 * A task changed status. Yielded by task streams (`tasks.events()`) and sent as the SSE event `status`.
 * @example
 * { type: 'status', taskId: '6f0c…', task: 'send-reminder', queue: 'default', status: 'running',
 *   attempt: 1, at: '2026-01-01T00:00:00.000Z' }
 */
export interface StatusEvent {
  /** Always `'status'`. */
  type: 'status'
  /** The task's id. */
  taskId: string
  /** The task's name. */
  task: string
  /** Its queue. */
  queue: string
  /** The status it entered. */
  status: TaskStatus
  /** The attempt number, when the event carries it (`running` events and snapshots do). */
  attempt?: number
  /** When it entered the status, ISO 8601 (database clock). */
  at: string
}

/**
 * A task reported progress (`ctx.progress`). Yielded by task streams and sent as the SSE event
 * `progress`. Stored reports are throttled (about one every 250 ms per task), and so are these events.
 * @example
 * { type: 'progress', taskId: '6f0c…', task: 'send-reminder', queue: 'default', percent: 50,
 *   step: 'Sending email', at: '2026-01-01T00:00:00.000Z' }
 */
export interface ProgressEvent {
  /** Always `'progress'`. */
  type: 'progress'
  /** The task's id. */
  taskId: string
  /** The task's name. */
  task: string
  /** Its queue. */
  queue: string
  /** 0 to 100. */
  percent: number
  /** The step reported, cut to 500 characters in the event (the stored one is whole); null when none. */
  step: string | null
  /** When it was reported, ISO 8601 (database clock). */
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
  /** Always `'lagged'`. */
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
/**
 * What a task stream yields (`tasks.events()`): a task's changes, or word that the consumer fell
 * behind. Switch on `type`.
 * @example
 * for await (const ev of tasks.events({ queue: 'emails' })) {
 *   if (ev.type === 'status') console.log(ev.taskId, ev.status)
 *   else if (ev.type === 'progress') console.log(ev.taskId, `${ev.percent}%`)
 *   else reload() // 'lagged': events were dropped, a snapshot follows
 * }
 */
export type TaskEvent = TaskChangeEvent | LaggedEvent
export type BusMessage = TaskChangeEvent | CancelEvent
