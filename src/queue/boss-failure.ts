import type { ErrorInfo } from '../worker/error-info.ts'

// pg-boss keeps a failed job's error in its `output` column, in one of three shapes:
// - `{ error: ErrorInfo }`: tasklane's fail (boss-job-store.ts) stores its own record there;
// - `{ value: { message } }`: pg-boss's monitor failed the job on its own, for a lapsed heartbeat
//   ('job heartbeat timeout') or an expiry ('job timed out'); a dead owner's claims are failed the
//   same way with a message of their own ({@link OWNER_LOCK_RELEASED_OUTPUT}, owner-lock.repository.ts),
//   so that a task lost to a slow heartbeat can be told from one lost with its process;
// - anything else an application wrote through pg-boss's own `fail(queue, id, data)`: an Error is
//   stored as its fields (`{ name, message, stack }`), a non-object as `{ value }`.
// An active claim's output holds the owner stamp (`{ leasedBy }`), which is no error.
// Only this file reads those shapes: everything above queue/ gets tasklane's ErrorInfo.

/** The message of a task whose worker was lost (pg-boss failed it on its own). */
export const WORKER_LOST_MESSAGE = 'worker lost: its process stopped heartbeating while running this task'

/** The message of a task whose worker's process ended (its owner lock was released: liveness.ts). */
export const OWNER_GONE_MESSAGE =
  'worker lost: its process ended while running this task (its owner lock was released)'

/**
 * The output a claim of a dead owner is failed with: pg-boss's own shape (`{ value: { message } }`,
 * so every path that handles a lapsed heartbeat handles it too) with a message of its own, read back
 * as {@link OWNER_GONE_MESSAGE}.
 */
export const OWNER_LOCK_RELEASED_OUTPUT = Object.freeze({
  value: Object.freeze({ message: 'owner lock released' }),
})

/**
 * The error record a job's pg-boss output holds, in tasklane's terms; null when it holds none (a
 * completed job's result, an active claim's owner stamp, nothing).
 * @example errorOfOutput({ value: { message: 'job heartbeat timeout' } }) // { type: 'WorkerLost', message: 'worker lost: …', retryable: true }
 */
export function errorOfOutput(output: unknown): ErrorInfo | null {
  if (!isObject(output)) return null
  if ('error' in output) return errorRecord(output.error)
  if ('value' in output) {
    const message = isObject(output.value) ? output.value.message : undefined
    if (typeof message === 'string') return workerLost(message)
    // pg-boss's fail with a non-object (`boss.fail(queue, id, 'no stock')`): the value is the message.
    return { type: 'Error', message: textOf(output.value), retryable: true }
  }
  return errorRecord(output)
}

/** What pg-boss's monitor (or liveness.ts) wrote, as the worker-lost record tasklane shows and records. */
function workerLost(message: string): ErrorInfo {
  return {
    type: 'WorkerLost',
    message:
      message === OWNER_LOCK_RELEASED_OUTPUT.value.message
        ? OWNER_GONE_MESSAGE
        : message.includes('heartbeat')
          ? WORKER_LOST_MESSAGE
          : `${WORKER_LOST_MESSAGE} (${message})`,
    retryable: true,
  }
}

/**
 * An error record as ErrorInfo: tasklane's own as it is, an Error's fields as pg-boss serialises them
 * (`name` for the type). Null when it has neither a message nor a type.
 */
function errorRecord(raw: unknown): ErrorInfo | null {
  if (!isObject(raw)) return null
  const type =
    typeof raw.type === 'string' && raw.type ? raw.type : typeof raw.name === 'string' ? raw.name : ''
  if (typeof raw.message !== 'string' && !type) return null
  return {
    type: type || 'Error',
    message: typeof raw.message === 'string' ? raw.message : '',
    ...(typeof raw.stack === 'string' && raw.stack ? { stack: raw.stack } : {}),
    retryable: typeof raw.retryable === 'boolean' ? raw.retryable : true,
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function textOf(v: unknown): string {
  if (typeof v === 'string') return v
  try {
    return JSON.stringify(v) ?? String(v)
  } catch {
    return String(v)
  }
}
