import { NonRetryableError, TaskTimeoutError } from '../errors.ts'
import { clip, MAX_ERROR_TEXT } from './outcome-limits.ts'

/**
 * How a failed attempt's error is recorded: in history, in task_attempt, in TaskInfo.error and in the
 * `task:retry` / `task:failure` payloads. Text is stored escaped (a NUL as `\u0000`) and messages and
 * stacks are cut at 64 KiB (docs/reliability.md).
 * @example { type: 'TypeError', message: "Cannot read properties of undefined (reading 'id')", retryable: true }
 */
export interface ErrorInfo {
  /**
   * The error's class name (`TypeError`, your own subclass's), `TimeoutError` for a timeout,
   * `WorkerLost`, `OutcomeNotStored`; for a thrown non-Error, its `typeof`.
   */
  type: string
  /** The error's message; may be empty (`throw new Error()`). */
  message: string
  /** The stack, when the thrown value had one. */
  stack?: string
  /** False for a NonRetryableError (the task failed at once, as for `OutcomeNotStored`), else true. */
  retryable: boolean
}

/**
 * Error text as PostgreSQL can store it in jsonb: NUL written out as `\u0000`, unpaired surrogates
 * replaced, and at most MAX_ERROR_TEXT characters. An error record jsonb refuses made every settle of
 * the attempt fail, so the task re-ran each time its claim lapsed and ended as "worker lost" with its
 * real error gone.
 */
function storable(text: string): string {
  return clip(text.replaceAll('\u0000', '\\u0000').toWellFormed(), MAX_ERROR_TEXT)
}

/**
 * The record of whatever a task threw. Never throws itself (a throwing getter, a revoked proxy), since
 * the record is what settles the attempt. An empty message stays empty: the type still says what
 * happened, and TaskInfo shows it.
 * @example describeError(new TypeError('x')) // { type: 'TypeError', message: 'x', stack: '…', retryable: true }
 */
export function describeError(err: unknown): ErrorInfo {
  try {
    if (err instanceof Error) {
      return {
        type: storable(err instanceof TaskTimeoutError ? 'TimeoutError' : errorType(err)),
        message: storable(String(err.message ?? '')),
        ...(typeof err.stack === 'string' && err.stack ? { stack: storable(err.stack) } : {}),
        retryable: !(err instanceof NonRetryableError),
      }
    }
    return { type: err === null ? 'null' : typeof err, message: storable(thrownText(err)), retryable: true }
  } catch (failure) {
    return {
      type: 'UnreadableError',
      message: storable(
        `the thrown value could not be read: ${String((failure as Error)?.message ?? failure)}`,
      ),
      retryable: true,
    }
  }
}

/** The error's name; a subclass that kept Error's default name is known by its class instead. */
function errorType(err: Error): string {
  const name = typeof err.name === 'string' ? err.name : ''
  const ctor = typeof err.constructor?.name === 'string' ? err.constructor.name : ''
  if (name && !(name === 'Error' && ctor && ctor !== 'Error')) return name
  return ctor || 'Error'
}

/** A thrown non-Error as text: strings as they are, other values as JSON where they have one. */
function thrownText(value: unknown): string {
  if (typeof value === 'string') return value
  if (typeof value === 'object' && value !== null) {
    try {
      const json = JSON.stringify(value)
      if (json !== undefined) return json
    } catch {}
  }
  return String(value)
}
