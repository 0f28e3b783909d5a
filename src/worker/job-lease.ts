import type { Kysely } from 'kysely'
import type { Database } from '../db/database.ts'
import { recordLostAttempts } from '../history/history.repository.ts'
import type { Logger } from '../logger.ts'
import type { JobStore } from '../queue/job-store.ts'
import { absorbDeadLetterCopies } from './dead-letter-copies.ts'
import type { LeasedJob } from './leased-job.ts'

export interface JobLeaseDeps {
  queue: string
  store: JobStore
  db: Kysely<Database>
  log: Logger
  /** This process's owner-lock key, stamped on its claims (worker/liveness.ts); null: not stamped. */
  leaseOwner?: () => number | null
}

/**
 * One queue's lease, in tasklane's terms: claims ready jobs (JobStore.lease), takes in the
 * dead-letter copies earlier versions left, records the attempts of re-leased tasks that died with
 * their workers, and hands back LeasedJobs in lease order.
 */
export class JobLease {
  readonly #d: JobLeaseDeps

  constructor(deps: JobLeaseDeps) {
    this.#d = deps
  }

  /** Leases up to `batchSize` jobs; the first `startNow` in lease order are recorded as started. */
  async lease(batchSize: number, startNow: number): Promise<LeasedJob[]> {
    const { store, queue } = this.#d
    const claims = await store.lease(queue, batchSize, startNow, this.#d.leaseOwner?.() ?? null)
    // The claim's time is the database's clock; instants this worker records count from it.
    const leasedMono = performance.now()
    // A dead-letter copy pg-boss made for an earlier version never runs as the task that failed.
    const copies = claims.flatMap((c) =>
      c.copyOf ? [{ id: c.id, retryCount: c.retryCount, sourceId: c.copyOf }] : [],
    )
    if (copies.length > 0) {
      await absorbDeadLetterCopies(this.#d.db, store, queue, copies).catch((err) =>
        this.#d.log.warn({ err: (err as Error).message }, 'could not take in dead-letter copies'),
      )
    }
    const jobs: LeasedJob[] = []
    for (const { copyOf, ...claim } of claims) if (!copyOf) jobs.push({ ...claim, queue, leasedMono })
    // A re-leased task whose earlier attempts left no row died with its worker: record them as lost.
    const retried = jobs.filter((j) => j.retryCount > 0)
    if (retried.length > 0) {
      await recordLostAttempts(
        this.#d.db,
        retried.map((j) => ({
          taskId: j.id,
          task: j.task,
          queue,
          before: j.retryCount + 1,
          error: j.lostError,
        })),
      ).catch((err) => this.#d.log.warn({ err: (err as Error).message }, 'could not record lost attempts'))
    }
    return jobs.sort(byLeaseOrder)
  }
}

/**
 * Priority, then creation, then id, as the lease orders the table (JobStore.lease): tasks
 * enqueued in one transaction share created_on, and their time-ordered ids (enqueue-request.ts)
 * follow insertion, so ties run in the order they were added.
 */
export function byLeaseOrder(a: LeasedJob, b: LeasedJob): number {
  return b.priority - a.priority || a.createdUs - b.createdUs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
}
