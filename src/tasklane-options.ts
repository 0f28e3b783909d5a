import type { Config } from './config.ts'
import type { Duration } from './duration.ts'
import type { Logger } from './logger.ts'
import type { TaskDefinition } from './tasks/define-task.ts'

export interface QueueOptions {
  /** Attempts of this queue's tasks running at once in this process: an integer from 1 to 1000. */
  concurrency: number
  /**
   * Jobs leased ahead of free slots, an integer from 0 to 10000 (default 0). A local buffer lets a busy worker lease and settle in
   * batches (see docs/benchmarks.md), at a price: a leased task reads as `running` while it waits in
   * the buffer, and a newly arrived task of higher priority can wait behind at most `prefetch` others.
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
  /** Postgres URL (postgres:// or postgresql://). Default: config.databaseUrl; when both are absent, the embedded Postgres. */
  databaseUrl?: string
  tasks: TaskDefinition<any, any>[]
  /**
   * Concurrency of the default queue (and of any queue not listed in `queues`), 0 to 1000; 0 runs no
   * workers. Default: config.workers (TASKLANE_WORKERS, 4).
   */
  workers?: number
  /** Per-queue options, by queue name (a-z, 0-9, '_' or '-'). */
  queues?: Record<string, QueueOptions>
  /** Validated configuration (loadConfig()); the options above override it. */
  config?: Readonly<Config>
  logger?: Logger
  /** Apply pending migrations in start() (default: config.migrateOnStart, true). */
  migrate?: boolean
  /** Run pg-boss's supervisor and cron in this process (default true). */
  supervise?: boolean
  /**
   * A worker process silent this long is presumed dead and its tasks run again: whole seconds, from 5s
   * to 1h (pg-boss counts heartbeats in seconds). Default: TASKLANE_HEARTBEAT_TIMEOUT, 30s.
   */
  heartbeatTimeout?: Duration
  /** Fallback poll when no NOTIFY arrives, from 50ms to 60s. Default: TASKLANE_POLL_INTERVAL, 1s. */
  pollInterval?: Duration
  /** Size of the worker-thread pool for tasks with mode: 'thread', 1 to 256. Default: TASKLANE_THREADS, 2. */
  threads?: number
  /**
   * How long daily rollups (task_rollup) are kept, from 1d to 36500d (default: config's
   * TASKLANE_RETENTION_ROLLUP, 730d). Independent of history retention: reports read rollups past it.
   */
  rollupRetention?: Duration
  /** Record per-task CPU time and peak memory in history. */
  enableProfiling?: boolean
  /** Memory budget of this process in MiB (0 to 1048576; 0: none): above it, workers stop leasing until memory falls. */
  memoryPoolMb?: number
  /**
   * Most connections this process opens, all pools and LISTEN included (default: config.maxConnections,
   * TASKLANE_MAX_CONNECTIONS, 15). At least 3. See docs/operations.md, "Connections".
   */
  maxConnections?: number
  /** Connections in tasklane's pool alone, 1 to 10000 (pg-boss's 4 and LISTEN come on top); prefer maxConnections. */
  poolSize?: number
  /** Name this process registers under in the workers table, 1 to 200 characters (default host:pid:random). */
  workerId?: string
}
