import { NonRetryableError, TaskTimeoutError } from '../errors.ts'

/** How a failed attempt is recorded: in history, in task_attempt and in TaskInfo.error. */
export interface ErrorInfo {
  type: string
  message: string
  stack?: string
  retryable: boolean
}

export function describeError(err: unknown): ErrorInfo {
  if (err instanceof Error) {
    return {
      type: err instanceof TaskTimeoutError ? 'TimeoutError' : err.name || err.constructor.name || 'Error',
      message: err.message,
      ...(err.stack ? { stack: err.stack } : {}),
      retryable: !(err instanceof NonRetryableError),
    }
  }
  return { type: typeof err, message: String(err), retryable: true }
}
