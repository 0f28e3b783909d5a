/**
 * Polls `check` until it returns a truthy value, or fails after `timeoutMs`. For conditions no event
 * announces (a listener count, a row another process writes); never a fixed sleep.
 */
export async function waitUntil<T>(
  check: () => T | Promise<T>,
  // 30 s: a failure detector, not a speed claim; a loaded machine may take seconds for a lease.
  { timeoutMs = 30_000, intervalMs = 20, what = 'condition' } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value) return value as NonNullable<T>
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, intervalMs))
  }
}
