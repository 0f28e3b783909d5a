import { attemptsMade, maxAttempts } from '../outcome/attempts.ts'
import type { TaskSnapshot } from '../outcome/outcome-recorder.ts'
import type { RetryPolicy } from '../tasks/define-task.ts'
import type { TraceCarrier } from '../telemetry/trace-context.ts'

/** A job this process holds a claim on: a leased pg-boss row, in tasklane's terms. */
export interface LeasedJob {
  id: string
  queue: string
  task: string
  args: unknown
  priority: number
  /** pg-boss's retry_count at claim time: it names this attempt and fences every settle of it. */
  retryCount: number
  retryLimit: number
  createdOn: Date
  /** created_on in microseconds: orders the local buffer exactly as the lease orders the table. */
  createdUs: number
  startAfter: Date
  /** When the job was claimed, on the database's clock. */
  leasedAt: Date
  /**
   * The database records that this attempt's handler started (pg-boss's started_on is set): by the
   * lease for a job that went straight to a slot, by a start mark for one that waited in the buffer
   * (start-marks.ts). Until then the task reads `queued`, and a claim lost with its process comes
   * back without spending an attempt.
   */
  started: boolean
  /** performance.now() when the claim came back: the monotonic anchor of leasedAt. */
  leasedMono: number
  /** The retry policy in milliseconds (pg-boss keeps only whole seconds). */
  retry: Pick<RetryPolicy, 'delayMs' | 'backoff' | 'maxDelayMs'>
  /**
   * The heartbeat timeout stamped on the job by whoever enqueued it: pg-boss re-queues the job when
   * this worker does not touch it within that time, whatever this worker's own setting is.
   */
  heartbeatSeconds: number | null
  /** pg-boss's own dead_letter on the row (jobs from earlier versions); tasklane clears it at settle. */
  bossDeadLetter?: string | null
  /** The context of the span that enqueued it (absent when it was enqueued without tracing). */
  traceContext?: TraceCarrier | undefined
}

/** The attempt this claim runs, counting from 1 (a claim always starts one: outcome/attempts.ts). */
export function attemptNumber(job: LeasedJob): number {
  return attemptsMade(job.retryCount, true)
}

/** The task as its claim stands, for recording the outcome of the attempt it runs (outcome-recorder.ts). */
export function snapshotOfLease(job: LeasedJob): TaskSnapshot {
  return {
    taskId: job.id,
    task: job.task,
    queue: job.queue,
    priority: job.priority,
    args: job.args,
    attempts: attemptNumber(job),
    maxAttempts: maxAttempts(job.retryLimit),
    createdAt: job.createdOn,
    startAfter: job.startAfter,
  }
}

export function fence(job: LeasedJob): { id: string; retryCount: number } {
  return { id: job.id, retryCount: job.retryCount }
}

/**
 * The database clock's time now, as this process best knows it: the claim's database timestamp plus
 * the monotonic time elapsed since. Every instant a worker records (startedAt, finishedAt, event
 * times) comes from here, so a worker whose own clock is wrong still records the database's time;
 * the error is at most the lease round trip.
 */
export function dbTimeOf(job: LeasedJob, mono: number = performance.now()): Date {
  return new Date(job.leasedAt.getTime() + Math.round(mono - job.leasedMono))
}
