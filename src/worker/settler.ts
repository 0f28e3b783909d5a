import type { Kysely } from 'kysely'
import { Batcher, ItemFailure } from '../batcher.ts'
import type { Database } from '../db/database.ts'
import { isDatabaseUnavailable } from '../errors.ts'
import type { Logger } from '../logger.ts'
import { recordOutcomes, type TaskOutcome } from '../outcome/outcome-recorder.ts'
import type { JobStore } from '../queue/job-store.ts'
import { retryDelayMs } from '../tasks/retry-delay.ts'
import { describeError, type ErrorInfo } from './error-info.ts'
import { attemptNumber, fence, type LeasedJob, snapshotOfLease } from './leased-job.ts'
import { clip, isRefused, OutcomeNotStoredError } from './outcome-limits.ts'

export interface Completion {
  job: LeasedJob
  result: unknown
  startedAt: Date
  finishedAt: Date
  cpuMs?: number | null
  peakMemoryMb?: number | null
  /** The attempt's logger (it carries the trace ids), for lines about this completion. */
  log?: Logger | undefined
}

/** A task's status once an attempt's outcome is recorded; 'lost' when its claim had lapsed (nothing recorded). */
export type SettledStatus = 'completed' | 'retrying' | 'failed' | 'lost'

/** What became of a completion: its status, and the error when it was recorded as a failure instead. */
export interface CompletionSettled {
  status: SettledStatus
  error?: ErrorInfo
}

// Shared answers: the common outcomes allocate nothing per task.
const COMPLETED: CompletionSettled = Object.freeze({ status: 'completed' })
const LOST: CompletionSettled = Object.freeze({ status: 'lost' })

export interface Failure {
  job: LeasedJob
  error: ErrorInfo
  outcome: 'failed' | 'timeout'
  startedAt: Date
  finishedAt: Date
  /** The task's dead-letter queue: a final failure is parked for it (recorded, never run there). */
  deadLetter?: string | null
}

export interface SettlerDeps {
  db: Kysely<Database>
  store: JobStore
  workerId: string
  log: Logger
  /** Most completions written in one transaction. */
  maxBatch?: number
}

/**
 * Records outcomes. Completions are group-committed (batcher.ts): everything that finished while the
 * previous transaction was in flight goes into the next one (the store's complete + history rows +
 * events), so a busy worker spends one transaction per batch rather than one per task, and an idle
 * one adds no delay.
 */
export class Settler {
  readonly #deps: SettlerDeps
  readonly #batcher: Batcher<Completion, CompletionSettled>

  constructor(deps: SettlerDeps) {
    this.#deps = deps
    this.#batcher = new Batcher<Completion, CompletionSettled>({
      maxBatch: deps.maxBatch ?? 500,
      write: (items) => this.#settle(items),
    })
  }

  /**
   * Resolves once the completion is committed, with the task's status: 'completed'; 'lost' when it was
   * fenced out (cancelled or re-leased meanwhile); 'failed' with the error when the database refused
   * the result.
   */
  complete(item: Completion): Promise<CompletionSettled> {
    return this.#batcher.submit(item)
  }

  /** Resolves when everything handed to complete() so far is recorded (or given up on). */
  drain(): Promise<void> {
    return this.#batcher.drain()
  }

  /**
   * Settles one batch, a result per item. A refused write (a result the database cannot store, a
   * batch too large to send) is split: one item must not sink the others, and the one that cannot be
   * stored fails at once, recorded. Any other error rejects the whole batch (the batcher's rule).
   */
  async #settle(items: Completion[]): Promise<(CompletionSettled | ItemFailure)[]> {
    let settled: Set<Completion>
    try {
      settled = await this.#writeRetrying(items)
    } catch (err) {
      if (!isRefused(err)) throw err
      if (items.length === 1) return [await this.#failUnstored(items[0]!, err)]
      const results: (CompletionSettled | ItemFailure)[] = []
      for (const item of items) {
        try {
          results.push((await this.#settle([item]))[0]!)
        } catch (failure) {
          results.push(new ItemFailure(failure))
        }
      }
      return results
    }
    return items.map((i) => (settled.has(i) ? COMPLETED : LOST))
  }

  /** #writeCompletions, tried again while the database is unavailable (for about five minutes). */
  async #writeRetrying(items: Completion[]): Promise<Set<Completion>> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#writeCompletions(items)
      } catch (err) {
        // While the database is down, keep the outcomes and try again: the claims are fenced, so a
        // write that lands after another worker re-ran the task is simply a no-op.
        if (!isDatabaseUnavailable(err) || attempt >= 60) throw err
        this.#deps.log.warn(
          { err: (err as Error).message, attempt },
          'settle failed, database unavailable; retrying',
        )
        await new Promise((r) => setTimeout(r, Math.min(5_000, 200 * 2 ** Math.min(attempt, 5))))
      }
    }
  }

  /** A completion the database refused is recorded as a non-retryable failure naming the reason. */
  async #failUnstored(item: Completion, err: unknown): Promise<CompletionSettled | ItemFailure> {
    const { job, startedAt, finishedAt } = item
    const reason = clip(String((err as Error)?.message ?? err), 1000)
    ;(item.log ?? this.#deps.log).error(
      { taskId: job.id, task: job.task, err: reason },
      'result not stored; failing the attempt',
    )
    try {
      const error = describeError(
        new OutcomeNotStoredError(`the task's result could not be stored: ${reason}`),
      )
      const status = await this.fail({ job, error, outcome: 'failed', startedAt, finishedAt })
      return { status, error }
    } catch (failure) {
      return new ItemFailure(failure)
    }
  }

  /**
   * Returns the completions actually recorded (the others were fenced out: cancelled or re-leased
   * meanwhile, or a second completion of the same job in this batch).
   */
  async #writeCompletions(items: Completion[]): Promise<Set<Completion>> {
    const { db, store, workerId } = this.#deps
    const byQueue = Map.groupBy(items, (i) => i.job.queue)
    const completed = new Set<Completion>()
    await db.transaction().execute(async (trx) => {
      const outcomes: TaskOutcome[] = []
      for (const [queue, group] of byQueue) {
        // Fenced to the attempt we claimed: a job cancelled or re-leased meanwhile is not settled here.
        const settled = new Set(
          await store.complete(
            trx,
            queue,
            group.map((i) => fence(i.job)),
          ),
        )
        for (const i of group) {
          // Once per job: the same job can be in one batch twice (its lapsed claim was put back during
          // an outage and leased again by this process); only one completion is the job's, the other is lost.
          if (!settled.delete(i.job.id)) continue
          completed.add(i)
          outcomes.push({
            snapshot: snapshotOfLease(i.job),
            status: 'completed',
            result: i.result,
            startedAt: i.startedAt,
            // The database clock's instant (see dbTimeOf), not this process's.
            finishedAt: i.finishedAt,
            workerId,
            cpuMs: i.cpuMs ?? null,
            peakMemoryMb: i.peakMemoryMb ?? null,
          })
        }
      }
      await recordOutcomes(trx, outcomes)
    })
    return completed
  }

  /**
   * Records a failed attempt: the store applies the retry policy (the delay in milliseconds, from
   * retry-delay.ts); a final failure also gets its history row, in the same transaction, marked with
   * the task's dead-letter queue if it names one (the store is not told: parked, never run there).
   * @returns the task's status afterwards, or 'lost' when the claim had already lapsed.
   */
  async fail(f: Failure): Promise<'retrying' | 'failed' | 'lost'> {
    try {
      return await this.#failOnce(f)
    } catch (err) {
      if (!isRefused(err)) throw err
      // The error record itself was refused: record why instead, and stop (no retries).
      const reason = clip(String((err as Error)?.message ?? err), 1000)
      const was = clip(`${f.error.type}: ${f.error.message}`, 1000)
      return this.#failOnce({
        ...f,
        error: describeError(
          new OutcomeNotStoredError(`the attempt's error could not be stored: ${reason} (it was ${was})`),
        ),
      })
    }
  }

  async #failOnce(f: Failure): Promise<'retrying' | 'failed' | 'lost'> {
    const { db, store, workerId } = this.#deps
    const { job } = f
    return db.transaction().execute(async (trx) => {
      const status = await store.fail(trx, job.queue, {
        ...fence(job),
        error: f.error,
        retryable: f.error.retryable,
        retryDelayMs: retryDelayMs(job.retry, attemptNumber(job)),
        clearDeadLetter: !!job.legacyDeadLetter,
      })
      if (status === 'lost') return status
      const final = status === 'failed'
      const common = {
        snapshot: snapshotOfLease(job),
        attempt: f.outcome,
        error: f.error,
        startedAt: f.startedAt,
        finishedAt: f.finishedAt,
        workerId,
      }
      await recordOutcomes(trx, [
        final
          ? { ...common, status: 'failed', deadLetter: f.deadLetter ?? job.legacyDeadLetter ?? null }
          : { ...common, status: 'retrying' },
      ])
      return final ? 'failed' : 'retrying'
    })
  }
}
