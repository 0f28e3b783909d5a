import { NonRetryableError, TaskTimeoutError } from '../errors.ts'

/** How a failed attempt is recorded: in history, in task_attempt and in TaskInfo.error. */
export interface ErrorInfo {
  type: string
  message: string
  stack?: string
  retryable: boolean
}

/**
 * Error text as PostgreSQL can store it in jsonb: NUL written out as `\u0000`, unpaired surrogates
 * replaced. An error record jsonb refuses made every settle of the attempt fail, so the task re-ran
 * each time its claim lapsed and ended as "worker lost" with its real error gone.
 */
function storable(text: string): string {
  return text.replaceAll('\u0000', '\\u0000').toWellFormed()
}

export function describeError(err: unknown): ErrorInfo {
  if (err instanceof Error) {
    return {
      type: storable(
        err instanceof TaskTimeoutError ? 'TimeoutError' : err.name || err.constructor.name || 'Error',
      ),
      message: storable(String(err.message)),
      ...(err.stack ? { stack: storable(err.stack) } : {}),
      retryable: !(err instanceof NonRetryableError),
    }
  }
  return { type: typeof err, message: storable(String(err)), retryable: true }
}
