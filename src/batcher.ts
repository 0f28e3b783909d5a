/**
 * Group commit, written once: callers submit items one at a time, and the items that arrive while a
 * write is in flight go together into the next write. A busy process then pays one round trip per
 * batch instead of one per item, and an idle one waits no longer than a single event-loop turn.
 *
 * Used for enqueues (enqueue/group-committer.ts), settles (worker/settler.ts) and event publishing
 * (events/event-publisher.ts). Semantics, each tested in test/foundation/batcher.test.ts:
 * - a flush starts when an item arrives and a write slot is free; it first awaits `gather()` (by default
 *   one `setImmediate`) so that everything submitted in the same turn shares it;
 * - a batch holds at most `maxBatch` of weight (items count 1 each unless `weight` says otherwise); a
 *   single item heavier than that goes alone;
 * - at most `maxInFlight` writes at once (default 1); when a write ends and items are waiting, the next
 *   write starts at once (they had a whole write to gather), unless another flush is gathering them;
 * - each submitter's promise settles with its own item's outcome, only once the write holding it ended:
 *   a write that throws rejects every item of its batch; an {@link ItemFailure} in its results rejects
 *   that item alone;
 * - `drain()` resolves once nothing is queued or being written (items submitted meanwhile included).
 */

/** Put in a write's results (at an item's index) to reject that item alone, with `error`. */
export class ItemFailure {
  readonly error: unknown
  constructor(error: unknown) {
    this.error = error
  }
}

export interface BatcherOptions<T, R> {
  /**
   * Writes one batch (never empty; a fresh array the write may keep), in submission order. Resolves with
   * one result per item, in the same order (an {@link ItemFailure} rejects that item); when `R` is undefined,
   * with anything that is not an array. A rejection rejects every item of the batch. Writes are never
   * retried here: retry inside `write` if you must.
   */
  write(items: T[]): Promise<WriteResults<R>>
  /** Most weight in one batch (>= 1). Example: 500 completions, or 1000 rows of enqueue requests. */
  maxBatch: number
  /** An item's weight toward maxBatch (>= 1; e.g. the rows of a request array). Default: 1. */
  weight?: (item: T) => number
  /** Most writes in flight at once. Default: 1. */
  maxInFlight?: number
  /** Awaited before a flush takes its batch, so that items submitted meanwhile join it. Default: one setImmediate. */
  gather?: () => Promise<void>
}

/** What a write resolves with: a result per item, or (for a batcher of undefined results) anything. */
export type WriteResults<R> = [R] extends [undefined] ? unknown : readonly (R | ItemFailure)[]

interface Entry<T, R> {
  item: T
  resolve(result: R): void
  reject(err: unknown): void
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve))
const ignore = () => {}

/**
 * Collects submitted items into batches written by `options.write`.
 * @example
 *   const publisher = new Batcher<BusMessage>({ maxBatch: 200, write: (batch) => notifyEvents(db, batch) })
 *   await publisher.submit(message)   // resolves once the statement that carried it has run
 *   publisher.post(other)             // the same, not waited for: its outcome is ignored
 *   await publisher.drain()           // on stop: everything submitted so far has been written (or failed)
 */
export class Batcher<T, R = undefined> {
  readonly #write: BatcherOptions<T, R>['write']
  readonly #maxBatch: number
  readonly #weight: ((item: T) => number) | undefined
  readonly #maxInFlight: number
  readonly #gather: () => Promise<void>
  #queue: Entry<T, R>[] = []
  #inFlight = 0
  #gathering = false
  #idle: { promise: Promise<void>; resolve(): void } | null = null

  constructor(options: BatcherOptions<T, R>) {
    if (!(options.maxBatch >= 1)) throw new RangeError(`maxBatch must be at least 1, got ${options.maxBatch}`)
    const maxInFlight = options.maxInFlight ?? 1
    if (!(maxInFlight >= 1)) throw new RangeError(`maxInFlight must be at least 1, got ${maxInFlight}`)
    this.#write = options.write
    this.#maxBatch = options.maxBatch
    this.#weight = options.weight
    this.#maxInFlight = maxInFlight
    this.#gather = options.gather ?? nextTurn
  }

  /** Queues `item`; resolves with its result once the write that carried it has ended, or rejects with its error. */
  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject })
      this.#startFlush()
    })
  }

  /**
   * Queues `item` and forgets it: `submit(item).catch(() => {})` without allocating a promise, for a
   * hot path whose write reports its own failures (e.g. logs them). Its outcome is never told to anyone.
   */
  post(item: T): void {
    this.#queue.push({ item, resolve: ignore, reject: ignore })
    this.#startFlush()
  }

  /** Items submitted and not yet handed to a write. */
  get queued(): number {
    return this.#queue.length
  }

  /** Resolves once every item submitted so far, and any submitted before it resolves, has been written or failed. */
  drain(): Promise<void> {
    if (this.#inFlight === 0 && this.#queue.length === 0) return Promise.resolve()
    if (!this.#idle) {
      let resolve!: () => void
      const promise = new Promise<void>((r) => {
        resolve = r
      })
      this.#idle = { promise, resolve }
    }
    return this.#idle.promise
  }

  /** Starts a flush that gathers first, if items wait, a slot is free and no other flush is gathering. */
  #startFlush(): void {
    if (this.#gathering || this.#inFlight >= this.#maxInFlight || this.#queue.length === 0) return
    this.#inFlight++
    this.#gathering = true
    // gather() is the caller's; if it fails, flush anyway rather than strand the items.
    void this.#gather()
      .catch(() => {})
      .then(() => {
        this.#gathering = false
        return this.#flush()
      })
  }

  /** Writes one batch in the slot already counted in #inFlight, then goes on while items wait. */
  async #flush(): Promise<void> {
    for (;;) {
      const batch = this.#take()
      // Items beyond this batch may fill another slot meanwhile.
      this.#startFlush()
      if (batch.length > 0) await this.#writeBatch(batch)
      if (this.#queue.length === 0 || this.#gathering) break
    }
    this.#inFlight--
    if (this.#inFlight === 0 && this.#queue.length === 0 && this.#idle) {
      this.#idle.resolve()
      this.#idle = null
    }
  }

  #take(): Entry<T, R>[] {
    const weight = this.#weight
    if (!weight) return this.#queue.splice(0, this.#maxBatch)
    let count = 0
    let total = 0
    for (const entry of this.#queue) {
      const w = weight(entry.item)
      if (count > 0 && total + w > this.#maxBatch) break
      count++
      total += w
      if (total >= this.#maxBatch) break
    }
    return this.#queue.splice(0, count)
  }

  /** Settles every entry of the batch; never throws. */
  async #writeBatch(batch: Entry<T, R>[]): Promise<void> {
    let results: unknown
    try {
      results = await this.#write(batch.map((e) => e.item))
    } catch (err) {
      for (const e of batch) e.reject(err)
      return
    }
    if (!Array.isArray(results)) {
      for (const e of batch) e.resolve(undefined as R)
      return
    }
    if (results.length !== batch.length) {
      const err = new Error(`batch write returned ${results.length} results for ${batch.length} items`)
      for (const e of batch) e.reject(err)
      return
    }
    for (let i = 0; i < batch.length; i++) {
      const result = results[i] as R | ItemFailure
      if (result instanceof ItemFailure) batch[i]!.reject(result.error)
      else batch[i]!.resolve(result)
    }
  }
}
