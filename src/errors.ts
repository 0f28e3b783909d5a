/**
 * Stable error codes of TasklaneError (and of the HTTP API's `{ error: { code } }`), each with its HTTP
 * status: `validation_failed` 400 (an invalid value: `details` name each field), `malformed_json` 400,
 * `unsupported_media_type` 415, `payload_too_large` 413, `unauthorized` 401, `unknown_task` 404 (a
 * task name no definition has), `not_found` 404 (no task with that id), `state_conflict` 409 (the
 * task's status does not allow the operation, e.g. retrying a running task), `idempotency_conflict`
 * 409 (a key reused with a different request), `database_unavailable` 503, `timeout` 408 (waitFor).
 * A frozen object; compare with `err.code`.
 * @example if (err instanceof TasklaneError && err.code === ErrorCode.STATE_CONFLICT) return reply(409)
 */
export const ErrorCode = Object.freeze({
  VALIDATION_FAILED: 'validation_failed',
  MALFORMED_JSON: 'malformed_json',
  UNSUPPORTED_MEDIA_TYPE: 'unsupported_media_type',
  PAYLOAD_TOO_LARGE: 'payload_too_large',
  UNAUTHORIZED: 'unauthorized',
  UNKNOWN_TASK: 'unknown_task',
  NOT_FOUND: 'not_found',
  STATE_CONFLICT: 'state_conflict',
  IDEMPOTENCY_CONFLICT: 'idempotency_conflict',
  DATABASE_UNAVAILABLE: 'database_unavailable',
  TIMEOUT: 'timeout',
} as const)
/** One of the values of the ErrorCode object (`'validation_failed'`, `'not_found'`, …). */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode]

const STATUS_BY_CODE: Record<ErrorCode, number> = {
  validation_failed: 400,
  malformed_json: 400,
  unsupported_media_type: 415,
  payload_too_large: 413,
  unauthorized: 401,
  unknown_task: 404,
  not_found: 404,
  state_conflict: 409,
  idempotency_conflict: 409,
  database_unavailable: 503,
  timeout: 408,
}

/** What is wrong with one field of a refused call or request (TasklaneError.details). */
export interface ErrorDetail {
  /**
   * The field, dot-separated: `args.userId`, `priority`, `cron.hour`, `items.2.args.email`; absent
   * when the problem is not one field's.
   */
  path?: string
  /** What is wrong with it, and what to send instead. */
  message: string
}

/**
 * An error a caller can act on: a stable code, an HTTP status and optional per-field details. The
 * library throws it for invalid input and refused operations (each method says which codes); the
 * HTTP API answers it as `{ error: { code, message, details } }` with `status`.
 * @example
 * try {
 *   await tasks.retry(taskId)
 * } catch (err) {
 *   if (err instanceof TasklaneError && err.code === 'state_conflict') console.log(err.message)
 *   else throw err
 * }
 */
export class TasklaneError extends Error {
  /** What went wrong, stable across releases (see ErrorCode). */
  readonly code: ErrorCode
  /** The HTTP status the code maps to (400, 401, 404, 408, 409, 413, 415 or 503). */
  readonly status: number
  /** Per-field problems (for `validation_failed`); empty when there are none. */
  readonly details: ErrorDetail[]
  /**
   * @param code one of ErrorCode; `status` follows from it.
   * @param message what happened and what to do next.
   * @param details the fields at fault, if any.
   */
  constructor(code: ErrorCode, message: string, details: ErrorDetail[] = []) {
    super(message)
    this.name = 'TasklaneError'
    this.code = code
    this.status = STATUS_BY_CODE[code]
    this.details = details
  }
}

/**
 * Throw from a task's `run` to fail the task at once, without spending the remaining retries. Its
 * message is recorded as the task's error, with `retryable: false`; a task with a `deadLetter` queue
 * is parked for it.
 * @example throw new NonRetryableError('invalid address: retrying will not help')
 */
export class NonRetryableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'NonRetryableError'
  }
}

/**
 * The reason of a task's `ctx.signal` when its attempt exceeds the task's `timeout`. The attempt is
 * recorded as failed with error type `TimeoutError` (retryable: the task's retry policy applies).
 * @example if (ctx.signal.reason instanceof TaskTimeoutError) ctx.log.warn('timed out; cleaning up')
 */
export class TaskTimeoutError extends Error {
  /** @param timeoutMs the task's timeout, in milliseconds, as the message reports it. */
  constructor(timeoutMs: number) {
    super(`attempt timed out after ${timeoutMs} ms`)
    this.name = 'TaskTimeoutError'
  }
}

/**
 * A pool checkout that timed out waiting for a connection to come free (node-postgres's pool, after
 * its connectionTimeoutMillis): the database may be fine and this process's pool busy. One kind of
 * {@link isDatabaseUnavailable}, told apart so the 503's message does not claim an outage.
 */
export function isPoolCheckoutTimeout(err: unknown): boolean {
  const message = (err as { message?: unknown } | null)?.message
  return typeof message === 'string' && /timeout exceeded when trying to connect/i.test(message)
}

/** Errors whose cause is a lost or refused database connection: the API answers 503 for these. */
export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | null
  if (!e) return false
  if (typeof e.code === 'string') {
    if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH'].includes(e.code))
      return true
    // 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now, 08xxx connection exceptions
    if (/^(57P0[123]|08...)$/.test(e.code)) return true
  }
  const message = e.message ?? ''
  return /Connection terminated|connection timeout|Client has encountered a connection error|terminating connection|the database system is (starting up|shutting down)|timeout exceeded when trying to connect/i.test(
    message,
  )
}
