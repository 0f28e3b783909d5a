/** Rounds to `digits` decimals (stats are read by people: no 0.30000000000000004). */
export function round(n: number, digits = 3): number {
  const f = 10 ** digits
  return Math.round(n * f) / f
}

/** part / whole, and 0 when there is no whole (no tasks, no workers): JSON has no NaN. */
export function ratio(part: number, whole: number): number {
  return whole > 0 ? part / whole : 0
}
