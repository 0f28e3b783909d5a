import type { Kysely } from 'kysely'
import type { Database } from '../db/database.ts'
import type { EnqueueRequest } from './enqueue-request.ts'
import { insertJobs, type WriterDeps } from './enqueue-writer.ts'

interface Waiter {
  requests: EnqueueRequest[]
  resolve(): void
  reject(err: unknown): void
}

/**
 * Group commit for enqueues that need no transaction of the caller's and carry no idempotency key:
 * requests arriving while a commit is in flight are gathered and written together in the next one
 * (a single multi-row INSERT per queue). Every caller's promise resolves only after the commit that
 * holds its rows, so "resolved" still means "durable"; a failed commit rejects every caller in it.
 */
export class GroupCommitter {
  readonly #db: Kysely<Database>
  readonly #deps: WriterDeps
  readonly #maxInFlight: number
  readonly #maxBatch: number
  #waiting: Waiter[] = []
  #inFlight = 0
  /** Sizes of recent commits (benchmarks report them). */
  readonly stats = { commits: 0, rows: 0 }

  constructor(db: Kysely<Database>, deps: WriterDeps, { maxInFlight = 2, maxBatch = 1000 } = {}) {
    this.#db = db
    this.#deps = deps
    this.#maxInFlight = maxInFlight
    this.#maxBatch = maxBatch
  }

  submit(requests: EnqueueRequest[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#waiting.push({ requests, resolve, reject })
      this.#kick()
    })
  }

  #kick(): void {
    if (this.#inFlight >= this.#maxInFlight || this.#waiting.length === 0) return
    this.#inFlight++
    // Gather everything submitted in this tick before taking a batch.
    setImmediate(() => void this.#commitNext())
  }

  async #commitNext(): Promise<void> {
    const batch: Waiter[] = []
    let rows = 0
    while (this.#waiting.length > 0 && rows < this.#maxBatch) {
      const w = this.#waiting.shift()!
      batch.push(w)
      rows += w.requests.length
    }
    try {
      if (batch.length > 0) {
        const requests = batch.flatMap((w) => w.requests)
        const queues = new Set(requests.map((r) => r.task.queue))
        // One queue: a single INSERT statement is its own transaction. Several: one transaction.
        if (queues.size === 1) await insertJobs(this.#db, this.#deps, requests)
        else await this.#db.transaction().execute((trx) => insertJobs(trx, this.#deps, requests))
        this.stats.commits++
        this.stats.rows += rows
        for (const w of batch) w.resolve()
      }
    } catch (err) {
      for (const w of batch) w.reject(err)
    } finally {
      this.#inFlight--
      this.#kick()
    }
  }
}
