/**
 * Attempts, from pg-boss's counters. pg-boss counts retries, not attempts: a claim adds one to
 * `retry_count` only when the job had started before (started_on is set), and a job handed back at
 * shutdown has started_on cleared so its next claim does not spend an attempt (queue/job.repository
 * handBack). So `retry_count` is the number of attempts that ended, not counting the one in flight,
 * and started_on says whether one is in flight or ended last:
 *
 * | job                                   | retry_count | started | attempts made |
 * |---------------------------------------|-------------|---------|---------------|
 * | queued, never run                     | 0           | no      | 0             |
 * | running its 1st attempt               | 0           | yes     | 1             |
 * | waiting to retry after 2 failures     | 1           | yes     | 2             |
 * | handed back while running its 2nd     | 1           | no      | 1             |
 * | failed for good after 3 attempts      | 2           | yes     | 3             |
 *
 * Every record of attempts (history, TaskInfo, the attempt a worker runs) is computed here.
 */

/**
 * Attempts made so far, the running one included.
 * @param retryCount pg-boss's retry_count (for a leased job: the value its claim returned)
 * @param started whether the job's last claim started an attempt (pg-boss's started_on is set)
 * @example attemptsMade(1, true) // 2: the second attempt is running, or ended
 */
export function attemptsMade(retryCount: number, started: boolean): number {
  return started ? retryCount + 1 : retryCount
}

/**
 * Attempts a job is allowed: the first plus its retry limit.
 * @example maxAttempts(3) // 4
 */
export function maxAttempts(retryLimit: number): number {
  return retryLimit + 1
}
