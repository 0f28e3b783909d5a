import type { Kysely } from 'kysely'
import type { AttemptOutcome, Database } from '../db/database.ts'
import type { BusMessage, StatusEvent } from '../events/event-types.ts'
import { notifyEvents } from '../events/notify.repository.ts'
import {
  type AttemptInsert,
  type HistoryInsert,
  insertAttempts,
  insertHistory,
} from '../history/history.repository.ts'
import type { LiveJob } from '../queue/job-store.ts'
import type { ErrorInfo } from '../worker/error-info.ts'
import { attemptsMade, maxAttempts } from './attempts.ts'

/**
 * A task as it stood when an outcome ended it (or ended its attempt): what every record of that
 * outcome is built from. Made from a leased job by the worker (worker/leased-job.ts snapshotOfLease)
 * and from pg-boss's row elsewhere ({@link snapshotOfJob}).
 */
export interface TaskSnapshot {
  taskId: string
  task: string
  queue: string
  /** pg-boss's integer priority (tasks/priority.ts maps it). */
  priority: number
  args: unknown
  /** Attempts made, the one this outcome ends included (outcome/attempts.ts). */
  attempts: number
  maxAttempts: number
  createdAt: Date
  /** When the task could first run (pg-boss's start_after at the time). */
  startAfter: Date
}

interface OutcomeBase {
  snapshot: TaskSnapshot
  /** When the attempt this outcome ends started, on the database clock; null when none was running. */
  startedAt: Date | null
  /** When the outcome happened, on the database clock: history's finished_at, the attempt's, the event's `at`. */
  finishedAt: Date
  /** The worker process that ran the attempt, when one did. */
  workerId?: string | null
}

/**
 * One outcome to record. `completed`, `failed` and `cancelled` are final (a history row);
 * `retrying` and `failed` end a failed attempt (a task_attempt row, `attempt` saying how it ended:
 * it threw, timed out, or its worker was lost). Every outcome announces its status.
 */
export type TaskOutcome =
  | (OutcomeBase & {
      status: 'completed'
      result: unknown
      cpuMs?: number | null
      peakMemoryMb?: number | null
    })
  | (FailedAttempt & { status: 'retrying' })
  | (FailedAttempt & {
      status: 'failed'
      /** Parked for this dead-letter queue (docs/reliability.md); null otherwise. */
      deadLetter?: string | null
    })
  | (OutcomeBase & { status: 'cancelled' })

interface FailedAttempt extends OutcomeBase {
  /** How the attempt ended: its task_attempt row's outcome. */
  attempt: AttemptOutcome
  /** The error record (worker/error-info.ts). */
  error: ErrorInfo
}

/**
 * The snapshot of a job read from the job store (cancel, the reconciler of lost workers).
 * @example snapshotOfJob(await store.find(db, queues, taskId))
 */
export function snapshotOfJob(job: LiveJob): TaskSnapshot {
  return {
    taskId: job.id,
    task: job.task ?? 'unknown',
    queue: job.queue,
    priority: job.priority,
    args: job.args,
    attempts: attemptsMade(job.retryCount, job.startedAt !== null),
    maxAttempts: maxAttempts(job.retryLimit),
    createdAt: job.createdOn,
    startAfter: job.startAfter,
  }
}

/**
 * Writes everything an outcome leaves, for a batch of outcomes, on `db` (the transaction that
 * settles them in pg-boss, so they are recorded iff the settle commits): the history row of each
 * final outcome, the task_attempt row of each failed attempt, and one status event each (delivered
 * on commit). At most three statements whatever the batch size, none when there is nothing of a kind.
 * Replays are no-ops (see insertHistory, insertAttempts). `also` are further messages for the same
 * NOTIFY (cancel's abort request).
 * @example await recordOutcomes(trx, [{ snapshot, status: 'cancelled', startedAt: null, finishedAt: now }])
 */
export async function recordOutcomes(
  db: Kysely<Database>,
  outcomes: readonly TaskOutcome[],
  also: readonly BusMessage[] = [],
): Promise<void> {
  const history: HistoryInsert[] = []
  const attempts: AttemptInsert[] = []
  const events: BusMessage[] = [...also]
  for (const o of outcomes) {
    const s = o.snapshot
    const workerId = o.workerId ?? null
    if (o.status === 'retrying' || o.status === 'failed') {
      attempts.push({
        taskId: s.taskId,
        attempt: s.attempts,
        task: s.task,
        queue: s.queue,
        outcome: o.attempt,
        error: o.error,
        startedAt: o.startedAt,
        finishedAt: o.finishedAt,
        workerId,
      })
    }
    if (o.status !== 'retrying') history.push(historyOf(o, workerId))
    events.push(statusEvent(s, o.status, o.finishedAt))
  }
  await insertAttempts(db, attempts)
  await insertHistory(db, history)
  await notifyEvents(db, events)
}

function historyOf(o: Exclude<TaskOutcome, { status: 'retrying' }>, workerId: string | null): HistoryInsert {
  const s = o.snapshot
  return {
    taskId: s.taskId,
    task: s.task,
    queue: s.queue,
    priority: s.priority,
    status: o.status,
    args: s.args,
    result: o.status === 'completed' ? o.result : null,
    error: o.status === 'failed' ? o.error : null,
    attempts: s.attempts,
    maxAttempts: s.maxAttempts,
    createdAt: s.createdAt,
    startAfter: s.startAfter,
    startedAt: o.startedAt,
    finishedAt: o.finishedAt,
    workerId,
    cpuMs: o.status === 'completed' ? (o.cpuMs ?? null) : null,
    peakMemoryMb: o.status === 'completed' ? (o.peakMemoryMb ?? null) : null,
    deadLetter: o.status === 'failed' ? (o.deadLetter ?? null) : null,
  }
}

function statusEvent(s: TaskSnapshot, status: TaskOutcome['status'], at: Date): StatusEvent {
  return { type: 'status', taskId: s.taskId, task: s.task, queue: s.queue, status, at: at.toISOString() }
}
