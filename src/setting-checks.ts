import { sslProblem } from './db/libpq-ssl.ts'
import { parseDuration } from './duration.ts'

/**
 * The checks of every setting, whether an environment variable (config.ts) or an option of
 * createTasklane (resolve-settings.ts) sets it: one check per kind, so both sources accept the same
 * values and refuse the rest with the same message. `name` is what the user wrote (`TASKLANE_WORKERS`
 * or `workers`); `value` is the text of a variable or the value of an option.
 */

/** A setting that cannot work: the message names the setting, its value and what is accepted. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ConfigError'
  }
}

function show(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'bigint') return String(value)
  return JSON.stringify(value) ?? String(value)
}

/**
 * Throws the message every refused setting gets.
 * @example invalid('workers', -1, 'an integer from 0 to 1000')
 * // ConfigError: workers=-1 is invalid: expected an integer from 0 to 1000
 */
export function invalid(name: string, value: unknown, accepted: string): never {
  throw new ConfigError(`${name}=${show(value)} is invalid: expected ${accepted}`)
}

/** An integer from `min` to `max`: a number, or (from the environment) its decimal text. */
export function checkInteger(
  name: string,
  value: unknown,
  min: number,
  max: number,
  accepted?: string,
): number {
  const n = typeof value === 'string' ? (/^-?\d+$/.test(value) ? Number(value) : Number.NaN) : value
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    invalid(name, value, accepted ?? `an integer from ${min} to ${max}`)
  }
  return n
}

/** A finite number from `min` to `max`. */
export function checkNumber(name: string, value: unknown, min: number, max: number): number {
  const n = typeof value === 'string' ? Number(value) : value
  if (typeof n !== 'number' || !Number.isFinite(n) || n < min || n > max) {
    invalid(name, value, `a number from ${min} to ${max}`)
  }
  return n
}

/** A duration from `min` to `max` (both written like '5s'), in milliseconds. */
export function checkDuration(name: string, value: unknown, min: string, max: string): number {
  const ms = parseDuration(value)
  if (ms === null || ms < parseDuration(min)! || ms > parseDuration(max)!) {
    invalid(
      name,
      value,
      `a duration from ${min} to ${max}, written like '500ms', '30s', '10m', '2h' or '30d'`,
    )
  }
  return ms
}

/** A duration its consumer counts in whole seconds (pg-boss's heartbeat): finer is refused, not rounded. */
export function checkWholeSeconds(name: string, value: unknown, ms: number): number {
  if (ms % 1000 !== 0) invalid(name, value, 'a whole number of seconds (its granularity is 1 s)')
  return ms
}

/** true or false; from the environment also 1/0, yes/no, on/off. */
export function checkBoolean(name: string, value: unknown): boolean {
  if (typeof value === 'boolean') return value
  if (typeof value === 'string' && /^(1|true|yes|on)$/i.test(value)) return true
  if (typeof value === 'string' && /^(0|false|no|off)$/i.test(value)) return false
  return invalid(name, value, 'true or false')
}

/** One of `values`. */
export function checkOneOf<T extends string>(name: string, value: unknown, values: readonly T[]): T {
  if (!values.includes(value as T)) invalid(name, value, `one of ${values.join(', ')}`)
  return value as T
}

/** A lower-case SQL identifier of at most `maxLength` characters. */
export function checkIdentifier(name: string, value: unknown, maxLength = 63): string {
  if (typeof value !== 'string' || !new RegExp(`^[a-z_][a-z0-9_]{0,${maxLength - 1}}$`).test(value)) {
    invalid(name, value, `a lower-case SQL identifier ([a-z_][a-z0-9_]*) of at most ${maxLength} characters`)
  }
  return value
}

/** A postgres:// URL whose sslmode tasklane can honour (db/libpq-ssl.ts). */
export function checkDatabaseUrl(name: string, value: unknown): string {
  if (typeof value !== 'string' || !/^postgres(ql)?:\/\//.test(value)) {
    invalid(name, value, 'a URL starting with postgres:// or postgresql://')
  }
  const ssl = sslProblem(value)
  if (ssl) throw new ConfigError(`${name} is invalid: ${ssl}`)
  return value
}

/** A size from 1 KiB to 64 MiB, like '1mb' or '512kb', in bytes. */
export function checkBytes(name: string, value: unknown): number {
  const match = typeof value === 'string' ? /^(\d+)\s*(b|kb|kib|mb|mib)?$/i.exec(value) : null
  const unit = (match?.[2] ?? 'b').toLowerCase()
  const n = match
    ? Number(match[1]) * (unit.startsWith('k') ? 1024 : unit.startsWith('m') ? 1024 * 1024 : 1)
    : Number.NaN
  if (!match || n < 1024 || n > 64 * 1024 * 1024)
    invalid(name, value, "a size from 1kb to 64mb, like '1mb' or '512kb'")
  return n
}
