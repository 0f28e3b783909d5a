import type { Kysely } from 'kysely'
import { Batcher } from '../batcher.ts'
import type { Database } from '../db/database.ts'
import type { Logger } from '../logger.ts'
import type { BusMessage } from './event-types.ts'
import { notifyEvents } from './notify.repository.ts'

/**
 * Publishes events that are not part of a transaction (a task started, a cancel request), coalescing
 * everything published in the same tick into one statement: NOTIFY takes a database-wide lock at
 * commit, so one notify statement per busy tick instead of one per task keeps it off the hot path.
 */
export class EventPublisher {
  readonly #batcher: Batcher<BusMessage>

  constructor(db: Kysely<Database>, log: Logger) {
    this.#batcher = new Batcher<BusMessage>({
      maxBatch: 200,
      // Events are advisory (state lives in tables; streams re-read it), so a failed publish is logged,
      // not retried; publish() does not wait for it.
      write: (batch) =>
        notifyEvents(db, batch).catch((err) =>
          log.debug({ err: (err as Error).message }, 'event publish failed'),
        ),
    })
  }

  /** Sends `message` with the next notify statement; returns at once (delivery is not awaited). */
  publish(message: BusMessage): void {
    this.#batcher.post(message)
  }

  /** Resolves once every message published so far has been sent (or its failure logged). */
  drain(): Promise<void> {
    return this.#batcher.drain()
  }
}
