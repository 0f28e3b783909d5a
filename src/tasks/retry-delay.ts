import type { RetryPolicy } from './define-task.ts'

/**
 * The wait, in whole milliseconds, before the retry that follows failed attempt `attempt` (1-based).
 * fixed: `delay`. exponential: `delay × 2^(attempt − 1)` times a random factor in [1, 2) — the
 * spread pg-boss uses, so tasks that failed together do not retry together — capped at `maxDelay`.
 * tasklane computes this itself because pg-boss keeps retry delays in whole seconds: a `'200ms'`
 * delay reached it as 1 s.
 * @example retryDelayMs({ limit: 3, delayMs: 200, backoff: 'fixed', maxDelayMs: null }, 1) // 200
 */
export function retryDelayMs(
  policy: Pick<RetryPolicy, 'delayMs' | 'backoff' | 'maxDelayMs'>,
  attempt: number,
  random: () => number = Math.random,
): number {
  if (policy.backoff === 'fixed') return policy.delayMs
  const grown = policy.delayMs * 2 ** Math.min(attempt - 1, 30) * (1 + random())
  return Math.round(Math.min(policy.maxDelayMs ?? Number.MAX_SAFE_INTEGER, grown))
}
