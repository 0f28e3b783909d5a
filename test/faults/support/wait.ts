/**
 * Polls `probe` until `done` accepts its value, or throws at the deadline naming what was awaited and
 * the last value (or error) seen. Errors of the probe count as "not yet": fault tests poll through
 * database outages. This is the only way the fault tests wait on the database; they never sleep.
 *
 * `timeoutMs` is a failure detector, not a speed claim. With `whileProgressing`, the deadline moves
 * each time the probed value changes: a backlog that drains slowly on a loaded machine is waited for
 * as long as it moves, and the wait fails only after `timeoutMs` without any progress (the test's own
 * timeout is the overall bound).
 * @example await waitUntil('100 outcomes', () => countHistory(pg), (n) => n === 100, { timeoutMs: 30_000 })
 */
export async function waitUntil<T>(
  what: string,
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  {
    timeoutMs,
    everyMs = 100,
    whileProgressing = false,
  }: { timeoutMs: number; everyMs?: number; whileProgressing?: boolean },
): Promise<T> {
  let deadline = Date.now() + timeoutMs
  let last: { value?: T; error?: unknown } = {}
  let lastSeen: string | undefined
  for (;;) {
    try {
      const value = await probe()
      last = { value }
      if (done(value)) return value
      const seen = JSON.stringify(value)
      if (whileProgressing && seen !== lastSeen) {
        lastSeen = seen
        deadline = Date.now() + timeoutMs
      }
    } catch (error) {
      last = { error }
    }
    if (Date.now() >= deadline) {
      const seen =
        'error' in last ? `error ${(last.error as Error)?.message}` : `value ${JSON.stringify(last.value)}`
      const how = whileProgressing ? `${timeoutMs} ms without progress` : `${timeoutMs} ms`
      throw new Error(`timed out after ${how} waiting for ${what} (last ${seen})`)
    }
    await new Promise((r) => setTimeout(r, everyMs))
  }
}

/** Milliseconds since `start`, rounded. */
export function since(start: number): number {
  return Math.round(Date.now() - start)
}

/** Nearest-rank percentile of `values` (ms), 0 for none. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!
}

/**
 * One line per measured result, prefixed so `grep '\[fault\]'` over a run collects them all (the
 * figures quoted in docs/reliability.md come from these lines).
 */
export function report(scenario: string, figures: Record<string, unknown>): void {
  console.log(`[fault] ${scenario}: ${JSON.stringify(figures)}`)
}
