// tasklane at its default settings: workers in this process leasing in batches (the default
// prefetch, adaptive up to 500 jobs for short tasks: the same in-hand window graphile gets from its
// 500-job localQueue and pg-boss from batchSize 50 × 10), group-committed settle and enqueue.
// Producer and workers are separate instances (separate pools), as for the peers.
import { PgBoss } from 'pg-boss'
import { pino } from 'pino'
import { loadConfig } from '../../src/config.ts'
import { migrateToLatest } from '../../src/db/migrate.ts'
import { engineOf } from '../../src/internal.ts'
import { createLogger, type Logger } from '../../src/logger.ts'
import { createTasklane, type Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { registerBenchTracing } from './otel.ts'
import type { BenchPayload, BenchSystem, WorkerOptions } from './system.ts'

await registerBenchTracing()

export const BENCH_TASK = 'bench'
export const BENCH_QUEUE = 'default'

/** Settings the ablations toggle; the defaults are tasklane's own. */
export interface TasklaneBenchOptions {
  /** Jobs leased ahead of free slots (0: one lease per free slot, no local buffer); 'default': tasklane's. */
  prefetch?: number | 'default'
  /** Fallback poll of the workers (NOTIFY wakes them first). */
  pollIntervalMs?: number
  /** false: create the queue without pg-boss's NOTIFY, so workers find work by polling only. */
  notify?: boolean
  /**
   * false: single enqueues bypass the group committer (addTask inside the caller's "transaction",
   * here the pool itself), one INSERT statement per call.
   */
  groupCommit?: boolean
}

export const BEST: Required<TasklaneBenchOptions> = Object.freeze({
  prefetch: 'default',
  // TASKLANE_POLL_INTERVAL's default (a fallback: NOTIFY wakes the workers first).
  pollIntervalMs: 1000,
  notify: true,
  groupCommit: true,
})

/** Logs go to stderr: stdout carries the benchmark's JSON lines. */
export function benchLogger(level = process.env.BENCH_LOG_LEVEL ?? 'warn'): Logger {
  return createLogger(level, pino.destination({ dest: 2, sync: false }))
}

/** Applies pg-boss's and tasklane's migrations to a fresh database. */
export async function migrateBench(dbUrl: string, log: Logger): Promise<void> {
  await migrateToLatest({
    connectionString: dbUrl,
    schema: 'tasklane',
    bossSchema: 'pgboss',
    dbBackend: 'postgres',
    log,
  })
}

/**
 * Creates the bench queue ahead of tasklane (which then leaves it alone): the only way to run the
 * "no NOTIFY" ablation without touching src.
 */
async function createQueue(dbUrl: string, notify: boolean): Promise<void> {
  const boss = new PgBoss({
    connectionString: dbUrl,
    max: 1,
    migrate: false,
    supervise: false,
    schedule: false,
    registerInstance: false,
  })
  boss.on('error', (err: Error) => console.error('[pg-boss]', err.message))
  await boss.start()
  try {
    await boss.createQueue(BENCH_QUEUE, { notify })
  } finally {
    await boss.stop({ graceful: false, close: true })
  }
}

export class TasklaneSystem implements BenchSystem {
  readonly name = 'tasklane'
  readonly #opts: Required<TasklaneBenchOptions>
  readonly #log = benchLogger()
  #dbUrl = ''
  #producer: Tasklane | undefined
  #worker: Tasklane | undefined
  #onRun: WorkerOptions['onRun'] = () => {}
  readonly #task = defineTask<BenchPayload, null>({
    name: BENCH_TASK,
    queue: BENCH_QUEUE,
    run: (args) => {
      this.#onRun(args)
      return null
    },
  })

  constructor(opts: TasklaneBenchOptions = {}) {
    this.#opts = { ...BEST, ...opts }
  }

  get dbUrl(): string {
    return this.#dbUrl
  }

  get producer(): Tasklane {
    if (!this.#producer) throw new Error('tasklane: setup() not called')
    return this.#producer
  }

  async setup(dbUrl: string): Promise<void> {
    this.#dbUrl = dbUrl
    // Migrate up front (as graphile's setup does) so startWorkers() measures workers, not schema.
    await migrateBench(dbUrl, this.#log)
    if (!this.#opts.notify) await createQueue(dbUrl, false)
    this.#producer = this.#instance({ workers: 0 })
    await this.#producer.start()
  }

  async enqueueOne(payload: BenchPayload): Promise<void> {
    const producer = this.producer
    if (this.#opts.groupCommit) await producer.addTask(this.#task, payload)
    else await producer.addTask(this.#task, payload, { db: engineOf(producer).db })
  }

  async enqueueBatch(payloads: BenchPayload[]): Promise<void> {
    await this.producer.addTasks(this.#task, payloads)
  }

  async startWorkers({ concurrency, onRun }: WorkerOptions): Promise<void> {
    this.#onRun = onRun
    const { prefetch } = this.#opts
    const worker = this.#instance({
      workers: concurrency,
      queues: { [BENCH_QUEUE]: { concurrency, ...(prefetch === 'default' ? {} : { prefetch }) } },
      // The lease uses pg-boss's pool; settles and heartbeats use ours: one per slot is plenty.
      poolSize: concurrency,
    })
    await worker.start()
    this.#worker = worker
  }

  async stopWorkers(): Promise<void> {
    await this.#worker?.stop({ timeout: 10_000 })
    this.#worker = undefined
  }

  async countUnsettled(): Promise<number> {
    return countUnsettled(this.producer)
  }

  /** For tasklane, settled means its history row exists: check that every settled task has one. */
  async verifySettled(expected: number): Promise<void> {
    const rows = await countHistory(this.producer)
    if (rows !== expected) throw new Error(`tasklane: ${expected} tasks settled but ${rows} history rows`)
  }

  async teardown(): Promise<void> {
    try {
      await this.stopWorkers()
    } finally {
      await this.#producer?.stop({ timeout: 0 })
      this.#producer = undefined
      this.#log.flush?.()
    }
  }

  #instance(extra: Partial<Parameters<typeof createTasklane>[0]>): Tasklane {
    return createTasklane({
      databaseUrl: this.#dbUrl,
      config: loadConfig({ LOG_LEVEL: this.#log.level }),
      logger: this.#log,
      tasks: [this.#task],
      migrate: false,
      // No maintenance or cron in a benchmark (the peers run without theirs too).
      supervise: false,
      pollInterval: this.#opts.pollIntervalMs,
      ...extra,
    })
  }
}

/**
 * Live jobs of the bench queue (created, retry, active), read on pg-boss's partial index job_i14
 * like the pg-boss peer's count, so its cost follows the backlog and the drain's 50 ms polling
 * doesn't steal the CPU it measures (a count of history rows costs 13 ms per call at 20k rows).
 * A job leaves these states in the same transaction that writes its history row, so "no live job"
 * is "every history row written"; verifySettled() checks that at the end.
 */
export async function countUnsettled(tasks: Tasklane): Promise<number> {
  const boss = engineOf(tasks).store.boss
  const { rows } = await boss
    .getDb()
    .executeSql(`select count(*) as n from pgboss.job where name = $1 and state < 'completed'`, [BENCH_QUEUE])
  return Number((rows[0] as { n: string }).n)
}

export async function countHistory(tasks: Tasklane): Promise<number> {
  const boss = engineOf(tasks).store.boss
  const { rows } = await boss.getDb().executeSql('select count(*) as n from tasklane.task_history', [])
  return Number((rows[0] as { n: string }).n)
}
