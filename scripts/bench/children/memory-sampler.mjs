// What the memory children (memory-worker.mjs, memory-peer.mjs) measure, written once: peaks of
// RSS, V8's heap and off-heap memory sampled every 20 ms, and the report line each child ends with.
// maxRSS (getrusage) is the peak over the whole life of the process, start-up included.

/** Resident set size now, MB. */
export const rssMb = () => process.memoryUsage.rss() / 1024 / 1024

/**
 * Starts sampling. `finish({ startRssMb, seconds })` stops it and returns the child's report:
 * { maxRssMb, sampledPeakRssMb, heapTotalPeakMb, externalPeakMb, startRssMb, seconds }.
 */
export function startMemorySampler() {
  const mb = (bytes) => bytes / 1024 / 1024
  const peaks = { sampledPeakRssMb: 0, heapTotalPeakMb: 0, externalPeakMb: 0 }
  const sampler = setInterval(() => {
    const m = process.memoryUsage()
    peaks.sampledPeakRssMb = Math.max(peaks.sampledPeakRssMb, mb(m.rss))
    peaks.heapTotalPeakMb = Math.max(peaks.heapTotalPeakMb, mb(m.heapTotal))
    peaks.externalPeakMb = Math.max(peaks.externalPeakMb, mb(m.external + m.arrayBuffers))
  }, 20)
  return {
    finish({ startRssMb, seconds }) {
      clearInterval(sampler)
      return { maxRssMb: process.resourceUsage().maxRSS / 1024, ...peaks, startRssMb, seconds }
    },
  }
}
