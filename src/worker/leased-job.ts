import type { TraceCarrier } from '../telemetry/trace-context.ts'

/** A job this process holds a claim on: pg-boss's fetch() row, in tasklane's terms. */
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
  startAfter: Date
  leasedAt: Date
  /**
   * The heartbeat timeout stamped on the job by whoever enqueued it: pg-boss re-queues the job when
   * this worker does not touch it within that time, whatever this worker's own setting is.
   */
  heartbeatSeconds: number | null
  /** The context of the span that enqueued it (absent when it was enqueued without tracing). */
  traceContext?: TraceCarrier | undefined
}

export function attemptNumber(job: LeasedJob): number {
  return job.retryCount + 1
}

export function fence(job: LeasedJob): { id: string; retryCount: number } {
  return { id: job.id, retryCount: job.retryCount }
}
