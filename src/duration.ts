/** A duration in milliseconds, or a string such as `'500ms'`, `'30s'`, `'10m'`, `'2h'`, `'1d'`. */
export type Duration = number | string

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const
const DURATION_PATTERN = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/

/**
 * Parses a duration into milliseconds, or returns null when it is not one.
 * @example parseDuration('10m') // 600000
 */
export function parseDuration(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : null
  if (typeof value !== 'string') return null
  const match = DURATION_PATTERN.exec(value)
  if (!match) return null
  return Math.round(Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS])
}

/** Like parseDuration, but throws a TypeError naming `what` when the value is not a duration. */
export function toMs(value: Duration, what: string): number {
  const ms = parseDuration(value)
  if (ms === null) {
    throw new TypeError(
      `${what} must be a duration: a number of milliseconds or a string like '500ms', '30s', '10m', '2h', '1d' (got ${JSON.stringify(value)})`,
    )
  }
  return ms
}
