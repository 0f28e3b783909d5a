import type { Kysely } from 'kysely'
import { Batcher } from '../batcher.ts'
import type { Database } from '../db/database.ts'
import type { EnqueueRequest } from './enqueue-request.ts'
import { insertJobs, type WriterDeps } from './enqueue-writer.ts'

/**
 * Group commit for enqueues that need no transaction of the caller's and carry no idempotency key:
 * requests arriving while a commit is in flight are gathered and written together in the next one
 * (a single multi-row INSERT per queue). Every caller's promise resolves only after the commit that
 * holds its rows, so "resolved" still means "durable"; a failed commit rejects every caller in it.
 */
export class GroupCommitter {
  readonly #batcher: Batcher<EnqueueRequest[]>

  /**
   * @param maxInFlight commits at once (two: one gathers while the other is in flight)
   * @param maxBatch most rows in one commit (a single submission with more goes alone)
   */
  constructor(db: Kysely<Database>, deps: WriterDeps, { maxInFlight = 2, maxBatch = 1000 } = {}) {
    this.#batcher = new Batcher<EnqueueRequest[]>({
      maxBatch,
      maxInFlight,
      weight: (requests) => requests.length,
      write: (submissions) => commit(db, deps, submissions.flat()),
    })
  }

  /** Resolves once `requests` are committed (with whatever else was submitted meanwhile); rejects with the commit's error. */
  submit(requests: EnqueueRequest[]): Promise<void> {
    return this.#batcher.submit(requests)
  }

  /** Resolves once every submission so far is committed or failed. */
  drain(): Promise<void> {
    return this.#batcher.drain()
  }
}

async function commit(db: Kysely<Database>, deps: WriterDeps, requests: EnqueueRequest[]): Promise<void> {
  const queue = requests[0]?.task.queue
  // One queue: a single INSERT statement is its own transaction, on the store's own connection.
  // Several: one transaction.
  if (requests.every((r) => r.task.queue === queue)) await deps.store.insert(null, requests)
  else await db.transaction().execute((trx) => insertJobs(trx, deps, requests))
}
