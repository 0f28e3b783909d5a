/**
 * A duration: a whole number of milliseconds (`250`), or a string of a number and a unit `ms`, `s`,
 * `m`, `h` or `d` (`'500ms'`, `'1.5s'`, `'10m'`, `'2h'`, `'1d'`). Honoured to the millisecond; a value
 * finer than that (`1.5`, `'0.5ms'`) or negative is refused, never rounded (docs/values.md). Each
 * option taking one states its bounds.
 * @example await tasks.stop({ timeout: '30s' }) // or { timeout: 30_000 }
 */
export type Duration = number | string

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const
const DURATION_PATTERN = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/

/**
 * Parses a duration into whole milliseconds, or returns null when it is not one. A millisecond is
 * the finest unit tasklane honours, so a value that is not a whole number of milliseconds
 * (`1.5`, `'0.5ms'`, `'1.0005s'`) is not a duration rather than being rounded.
 * @example parseDuration('10m') // 600000
 */
export function parseDuration(value: unknown): number | null {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : null
  if (typeof value !== 'string') return null
  const match = DURATION_PATTERN.exec(value)
  if (!match) return null
  // Scaled in decimal (not float) arithmetic so '1.1s' is exactly 1100, not 1100.0000000000002.
  const [whole, fraction = ''] = match[1]!.split('.')
  const unit = UNIT_MS[match[2] as keyof typeof UNIT_MS]
  const digits = fraction.replace(/0+$/, '')
  const scale = 10 ** digits.length
  const scaled = (BigInt(whole!) * BigInt(scale) + BigInt(digits || '0')) * BigInt(unit)
  if (scaled % BigInt(scale) !== 0n) return null
  const ms = scaled / BigInt(scale)
  return ms <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(ms) : null
}

/** Like parseDuration, but throws a TypeError naming `what` when the value is not a duration. */
export function toMs(value: Duration, what: string): number {
  const ms = parseDuration(value)
  if (ms === null) {
    throw new TypeError(
      `${what} must be a duration: a whole number of milliseconds or a string like '500ms', '30s', '10m', '2h', '1d' (got ${JSON.stringify(value)})`,
    )
  }
  return ms
}

/** The longest delay a Node.js timer honours (2^31 − 1 ms, about 24.8 days); longer ones fire at once. */
export const MAX_TIMER_MS = 2_147_483_647

/**
 * Like toMs, for durations tasklane waits out with a timer (an attempt's timeout, a stop timeout, a
 * poll interval): longer than a timer can wait is refused, since Node.js would fire it after 1 ms.
 */
export function toTimerMs(value: Duration, what: string): number {
  const ms = toMs(value, what)
  if (ms > MAX_TIMER_MS) {
    throw new TypeError(
      `${what} must be at most ${MAX_TIMER_MS} ms (about 24.8 days, the longest timer Node.js can set; got ${JSON.stringify(value)})`,
    )
  }
  return ms
}
