import type { Logger } from '../logger.ts'
import type { JobStore } from '../queue/job-store.ts'
import type { LeasedJob } from './leased-job.ts'

/**
 * How long a handler started from the local buffer runs before its start is written. Most tasks of a
 * busy queue finish sooner, and their settle records the outcome (with its start time) on its own:
 * they never cost a write here. A longer task reads `queued` for this long plus one round trip
 * after its handler started, then `running`.
 */
export const START_MARK_DELAY_MS = 10

export interface StartMarksDeps {
  store: JobStore
  queue: string
  log: Logger
  delayMs?: number
}

export interface StartCallbacks {
  /** The start is recorded: the task now reads `running` everywhere. */
  recorded(): void
  /** The claim is gone (cancelled, or reclaimed elsewhere): abort the attempt if it still runs. */
  lost(): void
}

interface Pending {
  job: LeasedJob
  startedAt: Date
  callbacks: StartCallbacks
  sent: boolean
  /** Those waiting for the answer (ensure, forget while in flight); most marks have none. */
  waiters: ((recorded: boolean) => void)[] | null
}

/**
 * Writes "this handler started" for jobs that waited in the local buffer, in batches: one statement
 * for every start of the last {@link START_MARK_DELAY_MS} whose attempt is still running, one batch
 * in flight at a time. An attempt that ends first is forgotten (its settle is the record), except a
 * failure, which waits for its mark (ensure) so that the attempt counts: the store spends an
 * attempt on the next claim only when the start is recorded.
 */
export class StartMarks {
  readonly #d: StartMarksDeps
  readonly #pending = new Map<string, Pending>()
  #timer: NodeJS.Timeout | null = null
  #flushing: Promise<void> | null = null
  #again = false

  constructor(deps: StartMarksDeps) {
    this.#d = deps
  }

  /** A buffered job's handler started at `startedAt` (database clock): record it soon. */
  add(job: LeasedJob, startedAt: Date, callbacks: StartCallbacks): void {
    this.#pending.set(job.id, { job, startedAt, callbacks, sent: false, waiters: null })
    this.#timer ??= setTimeout(() => this.#flush(), this.#d.delayMs ?? START_MARK_DELAY_MS)
  }

  /**
   * The attempt ended and its outcome goes to the settler: drop a mark not yet sent. Returns a
   * promise only while a mark of the job is in flight, resolved when it is answered (so the settle
   * and the mark never lock the same row at once).
   */
  forget(job: LeasedJob): Promise<unknown> | undefined {
    const p = this.#pending.get(job.id)
    if (!p || p.job !== job) return undefined
    if (!p.sent) {
      this.#pending.delete(job.id)
      for (const w of p.waiters ?? []) w(false)
      return undefined
    }
    return waitFor(p)
  }

  /**
   * Resolves once the job's start is recorded (true), writing it now if it is still waiting; false
   * when the claim is gone. A job whose start the lease recorded resolves at once.
   */
  ensure(job: LeasedJob): Promise<boolean> {
    if (job.started) return Promise.resolve(true)
    const p = this.#pending.get(job.id)
    if (!p || p.job !== job) return Promise.resolve(false)
    const answer = waitFor(p)
    if (!p.sent) {
      if (this.#timer) clearTimeout(this.#timer)
      this.#timer = null
      void this.#flush()
    }
    return answer
  }

  /** Waits for the batch in flight, then gives up on the marks not sent (shutdown). */
  async stop(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = null
    while (this.#flushing) await this.#flushing
    for (const p of this.#pending.values()) for (const w of p.waiters ?? []) w(false)
    this.#pending.clear()
  }

  #flush(): Promise<void> {
    this.#timer = null
    if (this.#flushing) {
      this.#again = true
      return this.#flushing
    }
    this.#flushing = this.#write().finally(() => {
      this.#flushing = null
      if (this.#again) {
        this.#again = false
        if ([...this.#pending.values()].some((p) => !p.sent)) void this.#flush()
      }
    })
    return this.#flushing
  }

  async #write(): Promise<void> {
    const batch = [...this.#pending.values()].filter((p) => !p.sent)
    if (batch.length === 0) return
    for (const p of batch) p.sent = true
    let recorded: Set<string>
    try {
      recorded = await this.#d.store.markStarted(
        this.#d.queue,
        batch.map((p) => ({ id: p.job.id, retryCount: p.job.retryCount, startedAt: p.startedAt })),
      )
    } catch (err) {
      // Not recorded yet (database down, a deadlock with a heartbeat): try again shortly. The
      // handlers keep running meanwhile; their claims stay heartbeated.
      this.#d.log.warn({ err: (err as Error).message, count: batch.length }, 'start mark failed; retrying')
      for (const p of batch) p.sent = false
      this.#timer ??= setTimeout(() => this.#flush(), 1_000)
      return
    }
    for (const p of batch) {
      if (this.#pending.get(p.job.id) === p) this.#pending.delete(p.job.id)
      const ok = recorded.has(p.job.id)
      if (ok) {
        p.job.started = true
        p.callbacks.recorded()
      } else {
        p.callbacks.lost()
      }
      for (const w of p.waiters ?? []) w(ok)
    }
  }
}

function waitFor(p: Pending): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    p.waiters ??= []
    p.waiters.push(resolve)
  })
}
