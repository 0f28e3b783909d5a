/**
 * The default prefetch: buffer about {@link AUTO_PREFETCH.horizonMs} of work, never more than
 * {@link AUTO_PREFETCH.max} jobs. A queue of short tasks gets the full batch (one lease per few
 * hundred tasks: docs/benchmarks.md); a queue of long tasks gets next to nothing, so one process does
 * not hoard work that idle processes could run, and a newly arrived task of higher priority waits
 * behind little.
 */
export const AUTO_PREFETCH = Object.freeze({ auto: true as const, max: 500, horizonMs: 100 })

/** A queue's `prefetch`: a fixed number of jobs leased ahead of free slots, or the adaptive default. */
export type Prefetch = number | { readonly auto: true; readonly max: number; readonly horizonMs: number }

/** Weight of the newest run time in the moving average. */
const ALPHA = 0.1

/**
 * How many jobs one queue runner leases ahead of its free slots. A fixed prefetch is what it says.
 * The adaptive one is `concurrency × horizonMs / mean run time`, capped at `max`, from an
 * exponentially weighted mean of this runner's attempts: none until the first attempt ends (a
 * fresh worker leases only what its slots can start).
 * @example const w = new PrefetchWindow(AUTO_PREFETCH, 10); w.record(0.5); w.size() // 500
 */
export class PrefetchWindow {
  readonly #prefetch: Prefetch
  readonly #concurrency: number
  #meanMs: number | null = null

  constructor(prefetch: Prefetch, concurrency: number) {
    this.#prefetch = prefetch
    this.#concurrency = concurrency
  }

  /** An attempt ran for `ms` (wall time, handler start to end). */
  record(ms: number): void {
    if (typeof this.#prefetch === 'number') return
    this.#meanMs = this.#meanMs === null ? ms : this.#meanMs + ALPHA * (ms - this.#meanMs)
  }

  /** Jobs to hold beyond the running ones now. */
  size(): number {
    const p = this.#prefetch
    if (typeof p === 'number') return p
    if (this.#meanMs === null) return 0
    // A floor under the mean: a no-op task measured at 0 ms still costs something.
    const perTask = Math.max(this.#meanMs, 0.001)
    return Math.min(p.max, Math.floor((this.#concurrency * p.horizonMs) / perTask))
  }
}
