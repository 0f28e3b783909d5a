import { FINAL_STATUSES, type TaskChangeEvent } from './event-types.ts'

/** Where a buffer overflowed: what the consumer missed, and the events that replace it (if conflating). */
export interface LagMark {
  type: 'lag'
  /** Events pushed and never handed out (those replaced by `snapshot` excluded). */
  dropped: number
  /** false when conflation had to forget some tasks (more of them changed than the bound). */
  complete: boolean
}

/**
 * The events a task stream holds for its consumer, never more than `bound` of them. While the
 * consumer keeps up it is a FIFO. When a push finds it full, it stops keeping events and only counts
 * them until the consumer asks again, which then gets a LagMark first:
 * - `conflate: false` (a one-task stream, whose snapshot is re-read from the database): nothing is
 *   kept, the stream replaces everything with a fresh read;
 * - `conflate: true` (a stream of all tasks, for which no bounded read exists): it keeps each task's
 *   latest status and progress, most recently changed last, and the LagMark is followed by those.
 *   When they exceed the bound the least recently changed task is forgotten (`complete: false`).
 * The events held, `size`, never exceed `bound`, whatever is pushed.
 */
export class StreamBuffer {
  readonly bound: number
  readonly #conflate: boolean
  #queue: TaskChangeEvent[] = []
  #lag: { pushed: number; complete: boolean; latest: Map<string, TaskChangeEvent[]> } | null = null
  #held = 0

  constructor(bound: number, { conflate }: { conflate: boolean }) {
    this.bound = bound
    this.#conflate = conflate
  }

  /** Events held now (at most `bound`). */
  get size(): number {
    return this.#lag ? this.#held : this.#queue.length
  }

  /** True after an overflow, until shift() hands out its LagMark. */
  get lagging(): boolean {
    return this.#lag !== null
  }

  push(event: TaskChangeEvent): void {
    if (!this.#lag) {
      if (this.#queue.length < this.bound) {
        this.#queue.push(event)
        return
      }
      this.#lag = { pushed: 0, complete: true, latest: new Map() }
      this.#held = 0
      const queued = this.#queue
      this.#queue = []
      for (const e of queued) this.#absorb(e)
    }
    this.#absorb(event)
  }

  /** The next event, or the LagMark of an overflow (after which come the conflated events, if any). */
  shift(): TaskChangeEvent | LagMark | undefined {
    const lag = this.#lag
    if (!lag) return this.#queue.shift()
    this.#lag = null
    this.#queue = [...lag.latest.values()].flat()
    this.#held = 0
    return { type: 'lag', dropped: lag.pushed - this.#queue.length, complete: lag.complete }
  }

  /** Empties it (a fresh read replaces what it held); returns how many events were pushed and are gone. */
  clear(): number {
    const gone = this.#lag ? this.#lag.pushed : this.#queue.length
    this.#lag = null
    this.#queue = []
    this.#held = 0
    return gone
  }

  #absorb(event: TaskChangeEvent): void {
    const lag = this.#lag!
    lag.pushed++
    if (!this.#conflate) return
    const held = lag.latest.get(event.taskId) ?? []
    const last = held.find((e) => e.type === 'status')
    // A task's final status is its last word: progress reported before it (or late) adds nothing.
    if (event.type === 'progress' && last?.type === 'status' && FINAL_STATUSES.has(last.status)) return
    const kept = held.filter(
      (e) =>
        e.type !== event.type &&
        !(event.type === 'status' && FINAL_STATUSES.has(event.status) && e.type === 'progress'),
    )
    kept.push(event)
    // Re-inserted, so that the map's order is the order of each task's latest change.
    lag.latest.delete(event.taskId)
    lag.latest.set(event.taskId, kept)
    this.#held += kept.length - held.length
    while (this.#held > this.bound) {
      const [oldest, events] = lag.latest.entries().next().value!
      lag.latest.delete(oldest)
      this.#held -= events.length
      lag.complete = false
    }
  }
}
