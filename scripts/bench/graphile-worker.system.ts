// graphile-worker 0.18 tuned as its performance docs suggest: a local queue (one query locks a
// batch that idle workers are served from) and batched completion/failure statements.

import { Logger, makeWorkerUtils, type Runner, run, type WorkerUtils } from 'graphile-worker'
import pg from 'pg'
import type { BenchPayload, BenchSystem, WorkerOptions } from './system.ts'

const TASK = 'bench'
const LOCAL_QUEUE_SIZE = 500
/**
 * Milliseconds to gather completions into one DELETE. 0 still batches everything finishing in
 * the same tick, which is what no-op handlers do; a larger delay only holds jobs locked longer.
 */
const COMPLETE_BATCH_DELAY_MS = 0

// Default console logging prints every job start/finish at info level; that would dominate the
// CPU of a no-op benchmark. Keep warnings and errors.
const logger = new Logger(() => (level, message) => {
  if (level === 'error' || level === 'warning') console.error(`[graphile-worker] ${message}`)
})

/**
 * Pools we own and end ourselves: graphile's own releaser removes its error handlers and then
 * calls pool.end() without awaiting it, so a DROP DATABASE right after teardown can kill a
 * still-open idle client and crash the process with an unhandled 'error'.
 */
function makePool(connectionString: string, max: number): pg.Pool {
  const pool = new pg.Pool({ connectionString, max })
  const report = (err: Error & { code?: string }) => {
    // 57P01: pg-pool's end() resolves before sockets close, so DROP DATABASE … FORCE may still
    // terminate them; expected, not worth a line.
    if (err.code !== '57P01') console.error(`[graphile-worker pool] ${err.message}`)
  }
  pool.on('error', report)
  pool.on('connect', (client) => client.on('error', report))
  return pool
}

export class GraphileWorkerSystem implements BenchSystem {
  readonly name = 'graphile-worker'
  #dbUrl = ''
  #utils: WorkerUtils | undefined
  #runner: Runner | undefined
  #pools: pg.Pool[] = []

  async setup(dbUrl: string): Promise<void> {
    this.#dbUrl = dbUrl
    const pgPool = makePool(dbUrl, 10)
    this.#pools.push(pgPool)
    this.#utils = await makeWorkerUtils({ pgPool, logger })
    // Migrate up front so startWorkers() measures workers, not schema installation.
    await this.#utils.migrate()
  }

  async enqueueOne(payload: BenchPayload): Promise<void> {
    await this.#requireUtils().addJob(TASK, payload)
  }

  async enqueueBatch(payloads: BenchPayload[]): Promise<void> {
    await this.#requireUtils().addJobs(payloads.map((payload) => ({ identifier: TASK, payload })))
  }

  async startWorkers({ concurrency, onRun }: WorkerOptions): Promise<void> {
    // maxPoolSize per the docs' recommendation: concurrency + 2.
    const pgPool = makePool(this.#dbUrl, concurrency + 2)
    this.#pools.push(pgPool)
    this.#runner = await run({
      pgPool,
      noHandleSignals: true,
      taskList: {
        [TASK]: async (payload) => {
          onRun(payload as BenchPayload)
        },
      },
      preset: {
        worker: {
          logger,
          concurrentJobs: concurrency,
          pollInterval: 500, // same backstop as pg-boss; new jobs arrive via LISTEN anyway
          localQueue: { size: LOCAL_QUEUE_SIZE },
          completeJobBatchDelay: COMPLETE_BATCH_DELAY_MS,
          failJobBatchDelay: COMPLETE_BATCH_DELAY_MS,
        },
      },
    })
  }

  async stopWorkers(): Promise<void> {
    await this.#runner?.stop()
    this.#runner = undefined
  }

  async countUnsettled(): Promise<number> {
    // graphile-worker deletes a job when it completes, so every remaining row is unsettled.
    return this.#requireUtils().withPgClient(async (client) => {
      const { rows } = await client.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM graphile_worker._private_jobs',
      )
      return (rows[0] as { n: number }).n
    })
  }

  async teardown(): Promise<void> {
    try {
      await this.stopWorkers()
      await this.#utils?.release()
    } finally {
      this.#utils = undefined
      await Promise.all(this.#pools.splice(0).map((pool) => pool.end()))
    }
  }

  #requireUtils(): WorkerUtils {
    if (!this.#utils) throw new Error('graphile-worker: setup() not called')
    return this.#utils
  }
}
