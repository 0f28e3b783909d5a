import type { RetryPolicy } from '../tasks/define-task.ts'
import type { BossJobData } from './boss-job.ts'

/** The retry columns of a pg-boss job row, as read (seconds, pg-boss's unit). */
export interface BossRetryColumns {
  data: BossJobData | null
  retryDelay: number
  retryBackoff: boolean
  retryDelayMax: number | null
}

/**
 * A job's retry policy in milliseconds. tasklane writes the policy the user gave into the job's data
 * (`retryMs`, boss-job.ts), since pg-boss's columns keep whole seconds ('200ms' would read back as
 * 1 s); a job sent by pg-boss's own API has only the columns, read here as seconds × 1000. Its data
 * may hold anything: a `retryMs` that is not tasklane's shape (whole, non-negative milliseconds) is
 * ignored, so a foreign job can neither throw here nor break the SQL the delay goes into.
 * @example retryPolicyOfJob({ data: { task: 't', args: null, retryMs: { delay: 200, maxDelay: null } }, retryDelay: 1, retryBackoff: false, retryDelayMax: null })
 * // { delayMs: 200, backoff: 'fixed', maxDelayMs: null }
 */
export function retryPolicyOfJob(
  r: BossRetryColumns,
): Pick<RetryPolicy, 'delayMs' | 'backoff' | 'maxDelayMs'> {
  const ms = validRetryMs((r.data as { retryMs?: unknown } | null)?.retryMs)
  return {
    delayMs: ms ? ms.delay : r.retryDelay * 1000,
    backoff: r.retryBackoff ? 'exponential' : 'fixed',
    maxDelayMs: ms ? ms.maxDelay : r.retryDelayMax != null ? r.retryDelayMax * 1000 : null,
  }
}

const wholeMs = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0

function validRetryMs(v: unknown): { delay: number; maxDelay: number | null } | null {
  if (typeof v !== 'object' || v === null) return null
  const { delay, maxDelay } = v as { delay?: unknown; maxDelay?: unknown }
  return wholeMs(delay) && (maxDelay === null || wholeMs(maxDelay)) ? { delay, maxDelay } : null
}
