const DAY = 86_400_000
const UNITS: ReadonlyArray<[string, number]> = [
  ['d', DAY],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1_000],
]

/**
 * An exact duration string for `ms` in the largest unit that divides it, as people write them:
 * days only from a week up, so a day reads '24h' ('90m', '1500ms', '30d').
 * @example formatDuration(86_400_000) // '24h'
 */
export function formatDuration(ms: number): string {
  for (const [unit, size] of UNITS) {
    if (unit === 'd' && ms < 7 * DAY) continue
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`
  }
  return `${ms}ms`
}
