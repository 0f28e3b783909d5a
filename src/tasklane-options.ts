import type { Config } from './config.ts'
import type { Duration } from './duration.ts'
import type { Logger } from './logger.ts'
import type { TaskDefinition } from './tasks/define-task.ts'

export interface QueueOptions {
  /** Attempts of this queue's tasks running at once in this process. */
  concurrency: number
  /**
   * Jobs leased ahead of free slots (default 0). A local buffer lets a busy worker lease and settle in
   * batches (see docs/benchmarks.md), at a price: a leased task reads as `running` while it waits in
   * the buffer, and a newly arrived task of higher priority can wait behind at most `prefetch` others.
   */
  prefetch?: number
}

export interface TasklaneOptions {
  /** Postgres URL. Default: config.databaseUrl; when both are absent, the embedded Postgres. */
  databaseUrl?: string
  tasks: TaskDefinition<any, any>[]
  /** Concurrency of the default queue (and of any queue not listed in `queues`); 0 runs no workers. */
  workers?: number
  queues?: Record<string, QueueOptions>
  /** Validated configuration (loadConfig()); the options above override it. */
  config?: Readonly<Config>
  logger?: Logger
  /** Apply pending migrations in start() (default: config.migrateOnStart, true). */
  migrate?: boolean
  /** Run pg-boss's supervisor and cron in this process (default true). */
  supervise?: boolean
  heartbeatTimeout?: Duration
  pollInterval?: Duration
  /** Size of the worker-thread pool for tasks with mode: 'thread'. */
  threads?: number
  /**
   * How long daily rollups (task_rollup) are kept, from 1d to 36500d (default: config's
   * TASKLANE_RETENTION_ROLLUP, 730d). Independent of history retention: reports read rollups past it.
   */
  rollupRetention?: Duration
  /** Record per-task CPU time and peak memory in history. */
  enableProfiling?: boolean
  /** Memory budget of this process in MiB: above it, workers stop leasing until memory falls. */
  memoryPoolMb?: number
  /**
   * Most connections this process opens, all pools and LISTEN included (default: config.maxConnections,
   * TASKLANE_MAX_CONNECTIONS, 15). At least 3. See docs/operations.md, "Connections".
   */
  maxConnections?: number
  /** Connections in tasklane's pool alone (pg-boss's 4 and LISTEN come on top); prefer maxConnections. */
  poolSize?: number
  /** Name this process registers under in the workers table (default host:pid:random). */
  workerId?: string
}
