/** Stable error codes; the HTTP layer maps them to statuses in one place (http/error-handler.ts). */
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

export interface ErrorDetail {
  path?: string
  message: string
}

/** An error a caller can act on: a stable code, an HTTP status and optional per-field details. */
export class TasklaneError extends Error {
  readonly code: ErrorCode
  readonly status: number
  readonly details: ErrorDetail[]
  constructor(code: ErrorCode, message: string, details: ErrorDetail[] = []) {
    super(message)
    this.name = 'TasklaneError'
    this.code = code
    this.status = STATUS_BY_CODE[code]
    this.details = details
  }
}

/**
 * Throw from a task's `run` to fail the task at once, without spending the remaining retries.
 * @example throw new NonRetryableError('invalid address: retrying will not help')
 */
export class NonRetryableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'NonRetryableError'
  }
}

/** Thrown into a task's ctx.signal when its attempt exceeds the task's timeout. */
export class TaskTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`attempt timed out after ${timeoutMs} ms`)
    this.name = 'TaskTimeoutError'
  }
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
