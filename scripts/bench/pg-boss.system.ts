// pg-boss 12 tuned for throughput and latency: a notify-enabled queue plus LISTEN on the worker
// instance (wake on insert), batch fetch with burst mode (refetch immediately while batches come
// back full), and the minimum polling interval as the backstop.
import { type ConstructorOptions, type Job, PgBoss } from 'pg-boss'
import type { BenchPayload, BenchSystem, WorkerOptions } from './system.ts'

const QUEUE = 'bench'
/**
 * Jobs held across all local workers: batchSize = IN_HAND / concurrency (50 at concurrency 10),
 * the same prefetch graphile-worker gets from its 500-job localQueue. Drain throughput scales
 * strongly with it (batchSize 20 gives roughly half), so keep the two systems matched.
 */
const IN_HAND = 500

// Background machinery a benchmark doesn't need and that would only add noise: the supervisor
// (maintenance/monitoring), cron, and the instance registry heartbeat.
const quiet: ConstructorOptions = {
  supervise: false,
  schedule: false,
  registerInstance: false,
  openTelemetry: { enabled: false },
}

function logErrors(boss: PgBoss): PgBoss {
  // pg-boss re-emits 'error'; without a listener EventEmitter would throw and kill the run.
  // 57P01 (admin shutdown) is DROP DATABASE … FORCE catching sockets pg-pool's end() left closing.
  boss.on('error', (err: Error & { code?: string }) => {
    if (err.code !== '57P01') console.error('[pg-boss]', err.message)
  })
  return boss
}

export class PgBossSystem implements BenchSystem {
  readonly name = 'pg-boss'
  #dbUrl = ''
  #producer: PgBoss | undefined
  #worker: PgBoss | undefined

  async setup(dbUrl: string): Promise<void> {
    this.#dbUrl = dbUrl
    // Producer and worker are separate instances (separate pools), as they would be in an app
    // where web processes enqueue and worker processes consume; graphile gets the same split.
    this.#producer = logErrors(new PgBoss({ connectionString: dbUrl, ...quiet, max: 10 }))
    await this.#producer.start()
    await this.#producer.createQueue(QUEUE, { notify: true })
  }

  async enqueueOne(payload: BenchPayload): Promise<void> {
    await this.#requireProducer().send(QUEUE, payload)
  }

  async enqueueBatch(payloads: BenchPayload[]): Promise<void> {
    // insert() is one multi-row INSERT; returnId defaults to false so nothing extra comes back.
    await this.#requireProducer().insert(
      QUEUE,
      payloads.map((data) => ({ data })),
    )
  }

  async startWorkers({ concurrency, onRun }: WorkerOptions): Promise<void> {
    // useListenNotify holds one dedicated LISTEN connection; the pool needs one per local worker
    // (each runs its own fetch/complete loop) plus that listener and a little headroom.
    const worker = logErrors(
      new PgBoss({
        connectionString: this.#dbUrl,
        ...quiet,
        migrate: false,
        useListenNotify: true,
        max: concurrency + 2,
      }),
    )
    await worker.start()
    this.#worker = worker
    await worker.work<BenchPayload>(
      QUEUE,
      {
        localConcurrency: concurrency,
        // At least 2: burstWhenBatchFull is ignored at batchSize 1.
        batchSize: Math.max(2, Math.ceil(IN_HAND / concurrency)),
        burstWhenBatchFull: true,
        pollingIntervalSeconds: 0.5, // the documented minimum
        notifyPollingIntervalSeconds: 0.5,
      },
      // Resolving completes the whole batch in one statement.
      async (jobs: Job<BenchPayload>[]) => {
        for (const job of jobs) onRun(job.data)
      },
    )
  }

  async stopWorkers(): Promise<void> {
    await this.#worker?.stop({ graceful: true, timeout: 10_000 })
    this.#worker = undefined
  }

  async countUnsettled(): Promise<number> {
    const { rows } = await this.#requireProducer()
      .getDb()
      .executeSql(
        `SELECT count(*)::int AS n FROM pgboss.job WHERE name = $1 AND state IN ('created', 'retry', 'active')`,
        [QUEUE],
      )
    return (rows[0] as { n: number }).n
  }

  async teardown(): Promise<void> {
    try {
      await this.stopWorkers()
    } finally {
      await this.#producer?.stop({ graceful: false })
      this.#producer = undefined
    }
  }

  #requireProducer(): PgBoss {
    if (!this.#producer) throw new Error('pg-boss: setup() not called')
    return this.#producer
  }
}
