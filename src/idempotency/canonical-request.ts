import type { RetryPolicy } from '../tasks/define-task.ts'
import type { TaskPriority } from '../tasks/priority.ts'

/**
 * What an enqueue request means, in one spelling: the form idempotency keys compare. Two requests
 * with the same key deduplicate exactly when their canonical forms are equal; any difference in
 * meaning is a 409 `idempotency_conflict`.
 *
 * Every value is the effective one (the task's defaults filled in), every duration is whole
 * milliseconds and every instant epoch milliseconds, so `{ delay: '10s' }` and `{ delay: 10000 }`,
 * or `startAfter` '2031-01-01T00:00:00Z' and '2031-01-01T01:00:00.000+01:00', are one request.
 *
 * The hash is computed by PostgreSQL over the jsonb text of this object (jsonb orders keys and
 * spells values one way), with the expression in REQUEST_HASH_SQL — the same one as the SQL
 * function `<schema>.idempotency_request_hash(jsonb)` (migration 0007), so a request enqueued from
 * SQL and one from TypeScript hash alike when they build the same object:
 *
 * ```
 * { "task": text, "queue": text, "args": jsonb (null when none),
 *   "priority": "CRITICAL" | "HIGH" | "NORMAL" | "LOW",
 *   "startAfter": epoch ms (integer) of an absolute start, or null,
 *   "delay": ms (integer, > 0) of a start relative to enqueue, or null (no delay, or 0),
 *   "retry": { "limit": int, "delay": ms, "backoff": "fixed" | "exponential", "maxDelay": ms | null } }
 * ```
 * docs/idempotency.md documents this for SQL callers.
 */
export interface CanonicalRequest {
  task: string
  queue: string
  args: unknown
  priority: TaskPriority
  startAfter: number | null
  delay: number | null
  retry: { limit: number; delay: number; backoff: 'fixed' | 'exponential'; maxDelay: number | null }
}

export function canonicalRequest(r: {
  task: string
  queue: string
  args: unknown
  priority: TaskPriority
  startAfterMs: number | null
  delayMs: number | null
  retry: RetryPolicy
}): CanonicalRequest {
  return {
    task: r.task,
    queue: r.queue,
    args: r.args ?? null,
    priority: r.priority,
    startAfter: r.startAfterMs,
    delay: r.delayMs ? r.delayMs : null,
    retry: {
      limit: r.retry.limit,
      delay: r.retry.delayMs,
      backoff: r.retry.backoff,
      maxDelay: r.retry.maxDelayMs,
    },
  }
}

/**
 * The hash of a canonical request (a jsonb expression `request`): sha256 of its jsonb text, in hex.
 * Identical to the body of `<schema>.idempotency_request_hash(jsonb)`; test/engine/idempotency-
 * canonical.test.ts holds the two together.
 */
export const REQUEST_HASH_SQL = (request: string) =>
  `encode(sha256(convert_to((${request})::text, 'UTF8')), 'hex')`
