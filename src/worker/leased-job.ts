import { attemptsMade, maxAttempts } from '../outcome/attempts.ts'
import type { TaskSnapshot } from '../outcome/outcome-recorder.ts'
import type { Claim, ClaimFence } from '../queue/job-store.ts'

/**
 * A job this process holds a claim on: the store's Claim (queue/job-store.ts) with its queue and the
 * monotonic anchor of its lease. `started` becomes true once the database records that this
 * attempt's handler started: by the lease for a job that went straight to a slot, by a start mark for
 * one that waited in the buffer (start-marks.ts). Until then the task reads `queued`, and a claim
 * lost with its process comes back without spending an attempt.
 */
export interface LeasedJob extends Omit<Claim, 'copyOf'> {
  queue: string
  /** performance.now() when the claim came back: the monotonic anchor of leasedAt. */
  leasedMono: number
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

export function fence(job: LeasedJob): ClaimFence {
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
