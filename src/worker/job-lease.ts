import type { Kysely } from 'kysely'
import type { Database } from '../db/database.ts'
import type { BossJobData } from '../enqueue/enqueue-request.ts'
import { recordLostAttempts } from '../history/history.repository.ts'
import type { Logger } from '../logger.ts'
import type { PgBoss } from '../queue/boss.ts'
import { findQueueTable, type LeaseRow, leaseJobs, type QueueTable } from '../queue/lease.repository.ts'
import { absorbDeadLetterCopies } from './dead-letter-copies.ts'
import type { LeasedJob } from './leased-job.ts'

export interface JobLeaseDeps {
  queue: string
  boss: PgBoss
  db: Kysely<Database>
  bossSchema: string
  log: Logger
}

/**
 * One queue's lease, in tasklane's terms: claims ready jobs (lease.repository.ts), takes in the
 * dead-letter copies earlier versions left, records the attempts of re-leased tasks that died with
 * their workers, and hands back LeasedJobs in lease order.
 */
export class JobLease {
  readonly #d: JobLeaseDeps
  /** Where pg-boss keeps this queue's jobs; looked up at the first lease. */
  #table: QueueTable | null = null

  constructor(deps: JobLeaseDeps) {
    this.#d = deps
  }

  /** The queue's physical table (its partition), once known. */
  get table(): string {
    return this.#table?.table ?? 'job'
  }

  /** Leases up to `batchSize` jobs; the first `startNow` in lease order are recorded as started. */
  async lease(batchSize: number, startNow: number): Promise<LeasedJob[]> {
    const fetched = await this.#rows(batchSize, startNow)
    // The claim's time is the database's clock; instants this worker records count from it.
    const leasedMono = performance.now()
    // A dead-letter copy pg-boss made for an earlier version never runs as the task that failed.
    const rows = fetched.filter((r) => !r.sourceId || r.sourceName === this.#d.queue)
    if (rows.length < fetched.length) {
      const copies = fetched.flatMap((r) =>
        r.sourceId && r.sourceName !== this.#d.queue
          ? [{ id: r.id, retryCount: r.retryCount, sourceId: r.sourceId }]
          : [],
      )
      await absorbDeadLetterCopies(this.#d.db, this.#d.boss, this.#d.queue, copies).catch((err) =>
        this.#d.log.warn({ err: (err as Error).message }, 'could not take in dead-letter copies'),
      )
    }
    // A re-leased task whose earlier attempts left no row died with its worker: record them as lost.
    const retried = rows.filter((r) => r.retryCount > 0)
    if (retried.length > 0) {
      await recordLostAttempts(
        this.#d.db,
        retried.map((r) => ({
          taskId: r.id,
          task: r.data?.task ?? '',
          queue: this.#d.queue,
          before: r.retryCount + 1,
        })),
      ).catch((err) => this.#d.log.warn({ err: (err as Error).message }, 'could not record lost attempts'))
    }
    return rows
      .map((r) => ({
        id: r.id,
        queue: this.#d.queue,
        task: r.data?.task ?? '',
        args: r.data?.args ?? null,
        priority: r.priority,
        retryCount: r.retryCount,
        retryLimit: r.retryLimit,
        createdOn: r.createdOn,
        createdUs: r.createdUs,
        startAfter: r.startAfter,
        leasedAt: r.leasedAt,
        leasedMono,
        started: r.started,
        retry: {
          delayMs: r.data?.retryMs?.delay ?? r.retryDelay * 1000,
          backoff: r.retryBackoff ? ('exponential' as const) : ('fixed' as const),
          maxDelayMs:
            r.data?.retryMs !== undefined
              ? r.data.retryMs.maxDelay
              : r.retryDelayMax != null
                ? r.retryDelayMax * 1000
                : null,
        },
        heartbeatSeconds: r.heartbeatSeconds ?? null,
        bossDeadLetter: r.deadLetter ?? null,
        traceContext: r.data?.trace,
      }))
      .sort(byLeaseOrder)
  }

  async #rows(batchSize: number, startNow: number): Promise<LeaseRow[]> {
    this.#table ??= await findQueueTable(this.#d.boss, this.#d.bossSchema, this.#d.queue)
    if (this.#table?.policy === 'standard') {
      return leaseJobs(this.#d.boss, this.#d.bossSchema, this.#table, this.#d.queue, batchSize, startNow)
    }
    // A queue someone created with another pg-boss policy (singleton, stately, …): pg-boss's own
    // fetch applies its rules. It records every claim as started, so its buffered jobs read `running`.
    const fetched = await this.#d.boss.fetch<BossJobData>(this.#d.queue, { batchSize, includeMetadata: true })
    return fetched.map((r, i) => ({
      id: r.id,
      rank: i + 1,
      data: r.data,
      priority: r.priority,
      retryCount: r.retryCount,
      retryLimit: r.retryLimit,
      retryDelay: r.retryDelay,
      retryBackoff: r.retryBackoff,
      retryDelayMax: r.retryDelayMax ?? null,
      createdOn: new Date(r.createdOn),
      createdUs: new Date(r.createdOn).getTime() * 1000,
      startAfter: new Date(r.startAfter),
      leasedAt: new Date(r.startedOn),
      started: true,
      heartbeatSeconds: r.heartbeatSeconds ?? null,
      deadLetter: r.deadLetter ?? null,
      sourceId: r.sourceId ?? null,
      sourceName: r.sourceName ?? null,
    }))
  }
}

/**
 * Priority, then creation, then id, as the lease orders the table (lease.repository.ts): tasks
 * enqueued in one transaction share created_on, and their time-ordered ids (enqueue-request.ts)
 * follow insertion, so ties run in the order they were added.
 */
export function byLeaseOrder(a: LeasedJob, b: LeasedJob): number {
  return b.priority - a.priority || a.createdUs - b.createdUs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
}
