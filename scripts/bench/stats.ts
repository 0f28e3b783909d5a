// Percentile helpers for the benchmark. Linear interpolation between closest ranks, so small
// samples (the 200-task latency run) don't jump a whole sample between neighbouring percentiles.

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const rank = (p / 100) * (sorted.length - 1)
  const lo = Math.floor(rank)
  const hi = Math.ceil(rank)
  const loValue = sorted[lo] as number
  const hiValue = sorted[hi] as number
  return loValue + (hiValue - loValue) * (rank - lo)
}

export function median(values: readonly number[]): number {
  return percentile(values, 50)
}

/** Rounds for printing: two decimals is already finer than the run-to-run noise. */
export function round(value: number, digits = 2): number {
  const f = 10 ** digits
  return Math.round(value * f) / f
}
