/**
 * Per-attempt CPU time and peak memory, recorded in history when profiling is on (the seed's
 * `enable_profiling`). Inline tasks share the process, so CPU time is the process's CPU time while the
 * attempt ran and peak memory the highest RSS sampled meanwhile (every 50 ms): exact for a lone task,
 * an upper bound when several run at once. Thread tasks report their own thread's figures.
 */
export class AttemptProfiler {
  readonly #open = new Set<{ peakRss: number }>()
  #timer: NodeJS.Timeout | null = null

  begin(): () => { cpuMs: number; peakMemoryMb: number } {
    const cpu = process.cpuUsage()
    const entry = { peakRss: process.memoryUsage.rss() }
    this.#open.add(entry)
    this.#ensureSampling()
    return () => {
      this.#open.delete(entry)
      entry.peakRss = Math.max(entry.peakRss, process.memoryUsage.rss())
      if (this.#open.size === 0 && this.#timer) {
        clearInterval(this.#timer)
        this.#timer = null
      }
      const used = process.cpuUsage(cpu)
      return { cpuMs: (used.user + used.system) / 1000, peakMemoryMb: entry.peakRss / 1024 / 1024 }
    }
  }

  #ensureSampling(): void {
    if (this.#timer) return
    this.#timer = setInterval(() => {
      const rss = process.memoryUsage.rss()
      for (const e of this.#open) if (rss > e.peakRss) e.peakRss = rss
    }, 50)
    this.#timer.unref()
  }
}
