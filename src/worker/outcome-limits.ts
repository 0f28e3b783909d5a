import { isDatabaseUnavailable, NonRetryableError } from '../errors.ts'

/**
 * What PostgreSQL can store of an attempt's outcome, checked before anything is written, so an
 * outcome the database would refuse fails its attempt at once with the reason, instead of failing
 * every settle until the claim lapses (the task then re-ran and ended as "worker lost").
 */

/** jsonb keeps a string, and a whole container, in at most 2^28 − 1 bytes (PostgreSQL's JENTRY_OFFLENMASK). */
export const MAX_JSONB_BYTES = 2 ** 28 - 1

/** Longest error message and stack kept in an error record (the rest is cut, and says so). */
export const MAX_ERROR_TEXT = 64 * 1024

/** Longest ctx.progress step kept; a longer one fails the attempt (a step is a short label). */
export const MAX_STEP_CHARS = 1024 * 1024

/**
 * The attempt's outcome (its result, error or progress) cannot be stored: the attempt fails at once,
 * without retries, and this error, naming the reason, is what is recorded.
 */
export class OutcomeNotStoredError extends NonRetryableError {
  constructor(message: string) {
    super(message)
    this.name = 'OutcomeNotStored'
  }
}

/**
 * A lower bound of the UTF-8 bytes of `value` as JSON (string lengths and keys), or Infinity as soon
 * as it passes `limit`: a single 300 MB string is judged by its length, without a copy of it.
 */
export function jsonBytesAtLeast(value: unknown, limit: number): number {
  let total = 0
  const stack: unknown[] = [value]
  while (stack.length > 0) {
    const v = stack.pop()
    if (typeof v === 'string') total += v.length + 2
    else if (typeof v === 'number' || typeof v === 'boolean' || v === null) total += 4
    else if (Array.isArray(v)) {
      total += 2
      for (const item of v) stack.push(item)
    } else if (typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON !== 'function') {
      for (const [k, item] of Object.entries(v as object)) {
        total += k.length + 3
        stack.push(item)
      }
    }
    if (total > limit) return Number.POSITIVE_INFINITY
  }
  return total
}

/** Throws OutcomeNotStoredError when a task's result is too large for jsonb. */
export function assertResultFits(result: unknown): void {
  if (jsonBytesAtLeast(result, MAX_JSONB_BYTES) > MAX_JSONB_BYTES) {
    throw new OutcomeNotStoredError(
      `the task returned a result larger than PostgreSQL can store (a jsonb value holds at most ${mib(MAX_JSONB_BYTES)} MiB): ` +
        'store large data elsewhere (a file, object storage) and return a reference to it',
    )
  }
}

/** `text` cut to `max` characters, saying how much was cut. */
export function clip(text: string, max: number): string {
  return text.length <= max
    ? text
    : `${text.slice(0, max)}… [${text.length - max} more characters not stored]`
}

function mib(bytes: number): number {
  return Math.round(bytes / 1024 / 1024)
}

/**
 * The database refused the write itself (a value it cannot store, a limit, a constraint or trigger),
 * as opposed to being unavailable or asking for a retry (SQLSTATE classes 08, 40, 53, 57): writing the
 * same thing again would fail the same way. A payload too large to build (RangeError: Invalid string
 * length) counts as refused too; anything else without a SQLSTATE is not judged here.
 */
export function isRefused(err: unknown): boolean {
  if (isDatabaseUnavailable(err)) return false
  if (err instanceof RangeError) return true
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && !/^(08|40|53|57)/.test(code)
}
