// A `tasklane worker`-like process draining a preloaded backlog: concurrency 10, the default prefetch.
// Prints {"ready": true} once started, then, when every task has its history row,
// {"maxRssMb", "sampledPeakRssMb", "startRssMb", "seconds"}. maxRSS (getrusage) is the peak over
// the whole life of the process, start-up included: the conservative figure.
import { loadConfig } from '../../../src/config.ts'
import { createTasklane } from '../../../src/tasklane.ts'
import { defineTask } from '../../../src/tasks/define-task.ts'
import { BENCH_QUEUE, BENCH_TASK, benchLogger, countUnsettled } from '../tasklane.system.ts'

const log = benchLogger()
const mb = (bytes: number) => bytes / 1024 / 1024
let sampledPeak = 0
let heapPeak = 0
let externalPeak = 0
const sampler = setInterval(() => {
  const m = process.memoryUsage()
  sampledPeak = Math.max(sampledPeak, mb(m.rss))
  heapPeak = Math.max(heapPeak, mb(m.heapTotal))
  externalPeak = Math.max(externalPeak, mb(m.external + m.arrayBuffers))
}, 20)

const bench = defineTask({ name: BENCH_TASK, queue: BENCH_QUEUE, run: () => null })
const tasks = createTasklane({
  databaseUrl: process.env.DATABASE_URL!,
  config: loadConfig({ LOG_LEVEL: log.level }),
  logger: log,
  tasks: [bench],
  migrate: false,
  supervise: false,
  workers: 10,
  poolSize: 10,
  // MEMORY_POOL_MB: tasklane's own memory budget (stop leasing above it); unset = none.
  ...(process.env.MEMORY_POOL_MB ? { memoryPoolMb: Number(process.env.MEMORY_POOL_MB) } : {}),
})
const startRssMb = mb(process.memoryUsage.rss())
const t0 = performance.now()
await tasks.start()
process.stdout.write(`${JSON.stringify({ ready: true })}\n`)
while ((await countUnsettled(tasks)) > 0) await new Promise((r) => setTimeout(r, 200))
const seconds = (performance.now() - t0) / 1000
clearInterval(sampler)
await tasks.stop({ timeout: 5_000 })
const maxRssMb = process.resourceUsage().maxRSS / 1024
const report = {
  maxRssMb,
  sampledPeakRssMb: sampledPeak,
  heapTotalPeakMb: heapPeak,
  externalPeakMb: externalPeak,
  startRssMb,
  seconds,
}
process.stdout.write(`${JSON.stringify(report)}\n`)
process.exit(0)
