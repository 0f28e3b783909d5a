import type { AttemptOutcome } from '../db/database.ts'
import type { TaskStatus } from '../events/event-types.ts'
import type { AttemptRow, HistoryRow } from '../history/history.repository.ts'
import { attemptsMade, maxAttempts } from '../outcome/attempts.ts'
import type { ProgressRow } from '../progress/progress.repository.ts'
import type { LiveJob } from '../queue/job-store.ts'
import { fromBossPriority, type TaskPriority } from '../tasks/priority.ts'

/**
 * A task as callers see it, whether it is live (pg-boss) or finished (history): what getTask, waitFor,
 * cancel, retry and listTasks answer, and `GET /tasks/:id` serves (docs/http.md). Instants are ISO 8601
 * strings in UTC from the database's clock; durations are milliseconds.
 * @example
 * const info = await tasks.getTask(taskId)
 * if (info?.status === 'completed') console.log(info.result, `${info.durationMs} ms`)
 * else if (info?.status === 'queued') console.log(`${info.position} ahead, expected to start at ${info.eta}`)
 */
export interface TaskInfo {
  /** The task's id (a UUID). */
  taskId: string
  /** The task's name. */
  task: string
  /** The queue it runs in. */
  queue: string
  /** Its priority. */
  priority: TaskPriority
  /**
   * Where it is: scheduled → queued → running → completed | failed | cancelled, with retrying between
   * failed attempts.
   */
  status: TaskStatus
  /** The args as stored (the JSON of what was sent; null when none). */
  args: unknown
  /** The last progress reported (percent 0–100, step, when), or null when none was. */
  progress: { percent: number; step: string | null; updatedAt: string } | null
  /** What `run` returned, once completed; absent otherwise. */
  result?: unknown
  /** The last error (of a failed task, or of the attempt a retrying task failed); absent when none. */
  error?: { type: string; message: string; retryable: boolean; stack?: string }
  /**
   * Failed with its retries spent and parked for this dead-letter queue (the task names it): it
   * never runs again, there or anywhere, unless retried. Absent otherwise.
   */
  deadLetter?: string
  /** Attempts started so far (0 before the first starts). */
  attempts: number
  /** The most attempts it gets: its retry limit + 1. */
  maxAttempts: number
  /** Queued tasks only, from getTask: ready tasks of its queue leased before it. */
  position?: number
  /**
   * Queued tasks only, from getTask, when a live worker serves its queue: its estimated start (the
   * tasks ahead run in waves of the queue's live slots, each taking its recent mean run time).
   */
  eta?: string
  /** When it was enqueued. */
  createdAt: string
  /** When its current attempt may run from: the start asked for (or createdAt), then each retry's. */
  startAfter: string
  /** When its current (or final) attempt started; null before. */
  startedAt: string | null
  /** When it completed, failed or was cancelled; null before. */
  finishedAt: string | null
  /**
   * Milliseconds from when its current (or final) attempt was due (the later of startAfter and
   * createdAt) to when it started; null before it starts.
   */
  waitMs: number | null
  /**
   * Milliseconds its final attempt ran, once finished; null before, and when unknown (it never ran,
   * or its worker was lost).
   */
  durationMs: number | null
}

/**
 * One recorded attempt of a task: every attempt that failed, timed out or was lost with its worker
 * (a completed attempt is the task's own record, TaskInfo). Instants are ISO strings from the
 * database's clock. Served as `attemptsHistory` by `GET /tasks/:id` (docs/http.md).
 * @example { attempt: 1, outcome: 'failed', error: { type: 'ConnectionError', message: 'refused', retryable: true },
 *   startedAt: '2026-01-05T10:00:00.000Z', finishedAt: '2026-01-05T10:00:00.012Z', durationMs: 12, workerId: 'host:4242:ab12' }
 */
export interface TaskAttempt {
  /** 1 for the first attempt. */
  attempt: number
  /** It threw (`failed`), hit its timeout (`timeout`), or its worker stopped heartbeating (`lost`). */
  outcome: AttemptOutcome
  /** The error it ended with, as TaskInfo shows errors; null when none was recorded. */
  error: NonNullable<TaskInfo['error']> | null
  /** When it started; null when unknown (lost with its worker, noticed when the task was leased again). */
  startedAt: string | null
  /** When it ended (or was noticed lost). */
  finishedAt: string
  /** Milliseconds it ran; null when unknown, like startedAt. */
  durationMs: number | null
  /** The worker process that ran it (`host:pid:id`), when known. */
  workerId: string | null
}

const iso = (d: Date | null | undefined) => (d ? new Date(d).toISOString() : null)

function progressOf(p: ProgressRow | null | undefined): TaskInfo['progress'] {
  return p ? { percent: p.percent, step: p.step, updatedAt: new Date(p.updated_at).toISOString() } : null
}

/**
 * A recorded error (history's or task_attempt's jsonb: worker/error-info.ts ErrorInfo) as TaskInfo
 * shows it. An error with an empty message (`throw new Error()`) is still an error that happened: it is
 * shown with its type, and an empty message.
 */
function errorOf(raw: unknown): TaskInfo['error'] | undefined {
  if (!raw || typeof raw !== 'object') return undefined
  const obj = raw as {
    type?: unknown
    message?: unknown
    retryable?: unknown
    stack?: unknown
  }
  if (typeof obj.message !== 'string' && typeof obj.type !== 'string') return undefined
  return {
    type: typeof obj.type === 'string' && obj.type ? obj.type : 'Error',
    message: typeof obj.message === 'string' ? obj.message : '',
    retryable: typeof obj.retryable === 'boolean' ? obj.retryable : true,
    ...(typeof obj.stack === 'string' && obj.stack ? { stack: obj.stack } : {}),
  }
}

export function fromAttempt(a: AttemptRow): TaskAttempt {
  return {
    attempt: a.attempt,
    outcome: a.outcome,
    error: errorOf(a.error) ?? null,
    startedAt: iso(a.started_at),
    finishedAt: iso(a.finished_at)!,
    durationMs: a.duration_ms,
    workerId: a.worker_id,
  }
}

export function fromHistory(h: HistoryRow, progress: ProgressRow | null): TaskInfo {
  const error = errorOf(h.error)
  return {
    taskId: h.task_id,
    task: h.task,
    queue: h.queue,
    priority: fromBossPriority(h.priority),
    status: h.status,
    args: h.args,
    progress: progressOf(progress),
    ...(h.status === 'completed' ? { result: h.result } : {}),
    ...(error ? { error } : {}),
    ...(h.dead_letter ? { deadLetter: h.dead_letter } : {}),
    attempts: h.attempts,
    maxAttempts: h.max_attempts,
    createdAt: iso(h.created_at)!,
    startAfter: iso(h.start_after)!,
    startedAt: iso(h.started_at),
    finishedAt: iso(h.finished_at),
    waitMs: h.wait_ms,
    durationMs: h.duration_ms,
  }
}

export function fromJob(job: LiveJob, progress: ProgressRow | null, lastError?: unknown): TaskInfo {
  const status = job.status
  const started = status === 'running' ? job.startedAt : null
  const readyAt = Math.max(new Date(job.startAfter).getTime(), new Date(job.createdOn).getTime())
  const error = errorOf(lastError) ?? job.error ?? undefined
  return {
    taskId: job.id,
    task: job.task ?? 'unknown',
    queue: job.queue,
    priority: fromBossPriority(job.priority),
    status,
    args: job.args,
    progress: progressOf(progress),
    ...(error && status !== 'completed' ? { error } : {}),
    attempts: attemptsMade(job.retryCount, job.startedAt !== null),
    maxAttempts: maxAttempts(job.retryLimit),
    createdAt: iso(job.createdOn)!,
    startAfter: iso(job.startAfter)!,
    startedAt: iso(started),
    finishedAt: iso(job.completedOn),
    waitMs: started ? Math.max(0, new Date(started).getTime() - new Date(readyAt).getTime()) : null,
    durationMs: null,
  }
}
