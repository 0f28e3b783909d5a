// A `tasklane worker`-like process draining a preloaded backlog (concurrency 10, the default prefetch),
// run as users run tasklane: plain Node on the compiled package, no TypeScript loader. TASKLANE_ENTRY
// is the file URL of the compiled src/index.js the memory scenario built (default: this package's dist/).
// Prints {"ready": true} once started, then, when no task of the queue is left unsettled,
// {"maxRssMb", "sampledPeakRssMb", "startRssMb", "seconds", …}. maxRSS (getrusage) is the peak over
// the whole life of the process, start-up included: the conservative figure.
import pg from 'pg'
import pino from 'pino'
import { rssMb, startMemorySampler } from './memory-sampler.mjs'

const { createTasklane, defineTask, loadConfig } = await import(process.env.TASKLANE_ENTRY ?? 'tasklane')

// Kept in step with scripts/bench/tasklane.system.ts (BENCH_TASK, BENCH_QUEUE): a .mjs cannot import it.
const BENCH_TASK = 'bench'
const BENCH_QUEUE = 'default'
const level = process.env.BENCH_LOG_LEVEL ?? 'warn'
// stderr: stdout carries the JSON protocol lines.
const logger = pino({ level }, pino.destination({ dest: 2, sync: false }))

const sampler = startMemorySampler()

const bench = defineTask({ name: BENCH_TASK, queue: BENCH_QUEUE, run: () => null })
const tasks = createTasklane({
  databaseUrl: process.env.DATABASE_URL,
  config: loadConfig({ LOG_LEVEL: level }),
  logger,
  tasks: [bench],
  migrate: false,
  supervise: false,
  workers: 10,
  poolSize: 10,
  // MEMORY_POOL_MB: tasklane's own memory budget (stop leasing above it); unset = none.
  ...(process.env.MEMORY_POOL_MB ? { memoryPoolMb: Number(process.env.MEMORY_POOL_MB) } : {}),
})
// One connection of the bench's own, counted in the RSS like the sampler: a few hundred KB.
const counter = new pg.Client({ connectionString: process.env.DATABASE_URL })
const startRssMb = rssMb()
const t0 = performance.now()
await tasks.start()
await counter.connect()
process.stdout.write(`${JSON.stringify({ ready: true })}\n`)
const unsettled = async () =>
  Number(
    (
      await counter.query(`select count(*) as n from pgboss.job where name = $1 and state < 'completed'`, [
        BENCH_QUEUE,
      ])
    ).rows[0].n,
  )
while ((await unsettled()) > 0) await new Promise((r) => setTimeout(r, 200))
const seconds = (performance.now() - t0) / 1000
const report = sampler.finish({ startRssMb, seconds })
await counter.end()
await tasks.stop({ timeout: 5_000 })
process.stdout.write(`${JSON.stringify(report)}\n`)
process.exit(0)
