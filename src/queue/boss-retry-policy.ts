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
 * 1 s); a job sent by pg-boss's own API has only the columns, read here as seconds × 1000.
 * @example retryPolicyOfJob({ data: { task: 't', args: null, retryMs: { delay: 200, maxDelay: null } }, retryDelay: 1, retryBackoff: false, retryDelayMax: null })
 * // { delayMs: 200, backoff: 'fixed', maxDelayMs: null }
 */
export function retryPolicyOfJob(
  r: BossRetryColumns,
): Pick<RetryPolicy, 'delayMs' | 'backoff' | 'maxDelayMs'> {
  const ms = r.data?.retryMs
  return {
    delayMs: ms?.delay ?? r.retryDelay * 1000,
    backoff: r.retryBackoff ? 'exponential' : 'fixed',
    maxDelayMs: ms !== undefined ? ms.maxDelay : r.retryDelayMax != null ? r.retryDelayMax * 1000 : null,
  }
}
