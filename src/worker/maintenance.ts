import type { Kysely } from 'kysely'
import type { Config } from '../config.ts'
import { databaseNow } from '../db/clock.repository.ts'
import type { Database } from '../db/database.ts'
import { recordLostAttempts } from '../history/history.repository.ts'
import {
  type DroppedPartitions,
  dropExpiredPartitions,
  ensureHistoryPartitions,
  pruneProgress,
} from '../history/partition.repository.ts'
import { foldNextDay, pruneRollups } from '../history/rollup.repository.ts'
import { pruneKeys } from '../idempotency/idempotency.repository.ts'
import type { Logger } from '../logger.ts'
import { recordOutcomes, snapshotOfJob, type TaskOutcome } from '../outcome/outcome-recorder.ts'
import type { JobStore, LiveJob } from '../queue/job-store.ts'
import type { ErrorInfo } from './error-info.ts'

export interface MaintenanceDeps {
  db: Kysely<Database>
  store: JobStore
  queues: () => string[]
  config: Pick<Config, 'schema' | 'retentionCompletedMs' | 'retentionFailedMs' | 'retentionRollupMs'>
  log: Logger
  /** The dead-letter queue a task names (its definition here), or null: a failure pg-boss made on its own is parked for it too. */
  deadLetterOf?: (task: string) => string | null
  reconcileEveryMs?: number
  pruneEveryMs?: number
  /** A UTC day is folded into the rollup this long after it ends (late history still lands in it). */
  foldGraceMs?: number
}

/** Default foldGraceMs: settles in flight and lost workers are recorded within minutes, not an hour. */
export const FOLD_GRACE_MS = 3_600_000

/**
 * The error of a task the store failed on its own: the one it holds (a lapsed heartbeat or an expiry
 * reads as WorkerLost, queue/boss-failure.ts), or a worker-lost record when it holds none.
 */
function lostError(job: LiveJob): ErrorInfo {
  return (
    job.error ?? {
      type: 'WorkerLost',
      message: 'worker lost: its process stopped heartbeating while running this task (expired)',
      retryable: true,
    }
  )
}

/**
 * Background upkeep in processes that supervise:
 * - reconcile: a task whose last attempt died with its worker is failed by pg-boss's monitor, not
 *   by us; record it in history (with a "worker lost" error) so every outcome lands there;
 * - prune: fold every finished UTC day into the rollup (task_rollup), then drop history's monthly
 *   partitions past retention (only of folded days), and delete old idempotency keys and rollups past
 *   theirs. Folding before pruning is what lets reports outlive history.
 */
export class Maintenance {
  readonly #d: MaintenanceDeps
  #timers: NodeJS.Timeout[] = []
  #busy: Promise<unknown> | null = null

  constructor(deps: MaintenanceDeps) {
    this.#d = deps
  }

  start(): void {
    if (this.#timers.length > 0) return
    const every = (ms: number, fn: () => Promise<unknown>) => {
      const t = setInterval(() => {
        if (this.#busy) return
        this.#busy = fn()
          .catch((err) => this.#d.log.warn({ err: (err as Error).message }, 'maintenance pass failed'))
          .finally(() => {
            this.#busy = null
          })
      }, ms)
      t.unref()
      this.#timers.push(t)
    }
    every(this.#d.reconcileEveryMs ?? 2_000, () => this.reconcileOnce())
    every(this.#d.pruneEveryMs ?? 600_000, () => this.pruneOnce())
  }

  async stop(): Promise<void> {
    for (const t of this.#timers) clearInterval(t)
    this.#timers = []
    await this.#busy
  }

  /** Records terminal failures pg-boss made on its own. Returns how many were recorded. */
  async reconcileOnce(): Promise<number> {
    const { db, store } = this.#d
    return db.transaction().execute(async (trx) => {
      const jobs = await store.endedWithoutHistory(trx, this.#d.queues(), 500)
      if (jobs.length === 0) return 0
      const at = await databaseNow(trx)
      const outcomes = jobs.map(
        (j): TaskOutcome => ({
          snapshot: snapshotOfJob(j),
          status: 'failed',
          attempt: 'lost',
          error: lostError(j),
          startedAt: j.startedAt,
          finishedAt: j.completedOn ?? at,
          deadLetter: this.#d.deadLetterOf?.(j.task ?? '') ?? null,
        }),
      )
      await recordOutcomes(trx, outcomes)
      // An earlier attempt lost the same way got its row when the task was leased again; this covers
      // one whose row did not land then (that write is best effort).
      await recordLostAttempts(
        trx,
        outcomes.map(({ snapshot: s }) => ({
          taskId: s.taskId,
          task: s.task,
          queue: s.queue,
          before: s.attempts,
        })),
      )
      this.#d.log.warn({ count: jobs.length }, 'recorded tasks whose worker was lost')
      return jobs.length
    })
  }

  /** Folds every UTC day that is due into task_rollup, one transaction per day. Returns how many. */
  async foldOnce(): Promise<number> {
    const { db, store } = this.#d
    let days = 0
    while (await foldNextDay(db, store.reads, this.#d.foldGraceMs ?? FOLD_GRACE_MS)) days++
    if (days > 0) this.#d.log.debug({ days }, 'folded history into the daily rollup')
    return days
  }

  /**
   * Makes next months' partitions, folds due days, then drops history partitions past retention and
   * prunes progress rows, idempotency keys and rollups past theirs.
   */
  async pruneOnce(): Promise<DroppedPartitions> {
    const { db, config } = this.#d
    // Not fatal: a month that cannot be made (rows of it already sit in the default partition) must not
    // stop folding and retention; its rows stay in the default partition, pruned by age.
    await ensureHistoryPartitions(db).catch((err: Error) =>
      this.#d.log.warn({ err: err.message }, 'could not make the coming months of history partitions'),
    )
    await this.foldOnce()
    // Cutoffs on the database's clock, which stamped the rows they are compared with.
    const now = (await databaseNow(db)).getTime()
    const dropped = await dropExpiredPartitions(db, {
      completedBefore: new Date(now - config.retentionCompletedMs),
      failedBefore: new Date(now - config.retentionFailedMs),
    })
    if (dropped.dropped.length > 0) this.#d.log.info(dropped, 'dropped history partitions past retention')
    await pruneProgress(db, new Date(now - Math.max(config.retentionCompletedMs, config.retentionFailedMs)))
    await pruneKeys(db, new Date(now - config.retentionCompletedMs), 10_000)
    await pruneRollups(db, new Date(now - config.retentionRollupMs))
    return dropped
  }
}
