import type { Kysely } from 'kysely'
import type { Database } from '../db/database.ts'
import type { JobReads } from '../queue/job-store.ts'

/** What the statistics services read, bound once per instance (see stats.service.ts, analytics.service.ts). */
export interface StatsDeps {
  db: Kysely<Database>
  /** Reads of the live jobs (JobStore.reads). */
  jobs: JobReads
  /** Queues whose live tasks are counted (the instance's registered queues). */
  queues: string[]
  /** Sliding window of rates and percentiles (config.statsWindowMs, default 5 minutes). */
  windowMs: number
  /** A worker process whose heartbeat is older than this is not live. */
  heartbeatTimeoutMs: number
  /** When the answering instance started. */
  startedAt: Date
}
