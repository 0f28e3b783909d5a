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

/** Asks whichever process runs `taskId` to abort it (the task was cancelled). */
export interface CancelEvent {
  type: 'cancel'
  taskId: string
  at: string
}

export type TaskEvent = StatusEvent | ProgressEvent
export type BusMessage = TaskEvent | CancelEvent
