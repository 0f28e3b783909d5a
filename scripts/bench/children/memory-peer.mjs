// The memory scenario's peer worker: pg-boss or graphile-worker (PEER) draining the backlog the
// scenario preloaded, in a process of its own, tuned as in the throughput scenarios (pg-boss: 10
// local workers × batchSize 50 with LISTEN/NOTIFY; graphile-worker: 10 concurrent jobs, a 500-job
// localQueue, batched completion). Same protocol and figures as memory-worker.mjs, so the report
// sets the peers' peak RSS beside tasklane's. Plain Node, no TypeScript loader. The settings are
// kept in step with scripts/bench/pg-boss.system.ts and graphile-worker.system.ts (a .mjs cannot
// import them).
import pg from 'pg'
import { rssMb, startMemorySampler } from './memory-sampler.mjs'

const PEER = process.env.PEER
const CONCURRENCY = 10
const IN_HAND = 500

const sampler = startMemorySampler()

// Imported before "RSS before start" is read, as memory-worker.mjs imports tasklane.
const lib = PEER === 'pg-boss' ? await import('pg-boss') : await import('graphile-worker')

/** Starts the peer's workers; resolves with { unsettledSql, stop }. */
async function startPgBoss() {
  const { PgBoss } = lib
  const boss = new PgBoss({
    connectionString: process.env.DATABASE_URL,
    supervise: false,
    schedule: false,
    registerInstance: false,
    openTelemetry: { enabled: false },
    migrate: false,
    useListenNotify: true,
    max: CONCURRENCY + 2,
  })
  boss.on('error', (err) => console.error('[pg-boss]', err.message))
  await boss.start()
  await boss.work(
    'bench',
    {
      localConcurrency: CONCURRENCY,
      batchSize: Math.ceil(IN_HAND / CONCURRENCY),
      burstWhenBatchFull: true,
      pollingIntervalSeconds: 0.5,
      notifyPollingIntervalSeconds: 0.5,
    },
    async () => {},
  )
  return {
    unsettledSql: `select count(*)::int as n from pgboss.job where name = 'bench' and state in ('created', 'retry', 'active')`,
    stop: () => boss.stop({ graceful: false }),
  }
}

async function startGraphileWorker() {
  const { Logger, run } = lib
  // Warnings and errors only, as graphile-worker.system.ts: its default logger writes a line per job
  // to stdout, which would dominate the drain.
  const logger = new Logger(() => (level, message) => {
    if (level === 'error' || level === 'warning') console.error(`[graphile-worker] ${message}`)
  })
  const pgPool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: CONCURRENCY + 2 })
  pgPool.on('error', () => {})
  const runner = await run({
    pgPool,
    noHandleSignals: true,
    taskList: { bench: async () => {} },
    preset: {
      worker: {
        logger,
        concurrentJobs: CONCURRENCY,
        pollInterval: 500,
        localQueue: { size: IN_HAND },
        completeJobBatchDelay: 0,
        failJobBatchDelay: 0,
      },
    },
  })
  return {
    unsettledSql: 'select count(*)::int as n from graphile_worker._private_jobs',
    stop: async () => {
      await runner.stop()
      await pgPool.end()
    },
  }
}

const counter = new pg.Client({ connectionString: process.env.DATABASE_URL })
const startRssMb = rssMb()
const t0 = performance.now()
const peer = PEER === 'pg-boss' ? await startPgBoss() : await startGraphileWorker()
await counter.connect()
process.stdout.write(`${JSON.stringify({ ready: true })}\n`)
while ((await counter.query(peer.unsettledSql)).rows[0].n > 0) await new Promise((r) => setTimeout(r, 200))
const seconds = (performance.now() - t0) / 1000
const report = sampler.finish({ startRssMb, seconds })
await counter.end()
await peer.stop()
process.stdout.write(`${JSON.stringify(report)}\n`)
process.exit(0)
