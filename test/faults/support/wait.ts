/**
 * Polls `probe` until `done` accepts its value, or throws at the deadline naming what was awaited and
 * the last value (or error) seen. Errors of the probe count as "not yet": fault tests poll through
 * database outages. This is the only way the fault tests wait on the database; they never sleep.
 * @example await waitUntil('100 outcomes', () => countHistory(pg), (n) => n === 100, { timeoutMs: 30_000 })
 */
export async function waitUntil<T>(
  what: string,
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  { timeoutMs, everyMs = 100 }: { timeoutMs: number; everyMs?: number },
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: { value?: T; error?: unknown } = {}
  for (;;) {
    try {
      const value = await probe()
      last = { value }
      if (done(value)) return value
    } catch (error) {
      last = { error }
    }
    if (Date.now() >= deadline) {
      const seen =
        'error' in last ? `error ${(last.error as Error)?.message}` : `value ${JSON.stringify(last.value)}`
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last ${seen})`)
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
