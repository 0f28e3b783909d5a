import type { Kysely } from 'kysely'
import type { Logger } from '../logger.ts'
import type { BusMessage } from './event-types.ts'
import { notifyEvents } from './notify.repository.ts'

/**
 * Publishes events that are not part of a transaction (a task started, a cancel request), coalescing
 * everything published in the same tick into one statement: NOTIFY takes a database-wide lock at
 * commit, so one notify statement per busy tick instead of one per task keeps it off the hot path.
 */
export class EventPublisher {
  readonly #db: Kysely<any>
  readonly #log: Logger
  #pending: BusMessage[] = []
  #flushing: Promise<void> | null = null

  constructor(db: Kysely<any>, log: Logger) {
    this.#db = db
    this.#log = log
  }

  publish(message: BusMessage): void {
    this.#pending.push(message)
    if (!this.#flushing) this.#flushing = this.#flush()
  }

  async drain(): Promise<void> {
    while (this.#flushing) await this.#flushing
  }

  async #flush(): Promise<void> {
    await new Promise<void>((r) => setImmediate(r))
    try {
      while (this.#pending.length > 0) {
        const batch = this.#pending.splice(0, 200)
        // Events are advisory (state lives in tables; streams re-read it), so a failed publish is logged, not retried.
        await notifyEvents(this.#db, batch).catch((err) =>
          this.#log.debug({ err: (err as Error).message }, 'event publish failed'),
        )
      }
    } finally {
      this.#flushing = null
    }
  }
}
