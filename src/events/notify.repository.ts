import { type Kysely, sql } from 'kysely'
import { type BusMessage, EVENTS_CHANNEL } from './event-types.ts'

// NOTIFY payloads are limited to 8000 bytes; a step text is the only unbounded field.
const MAX_STEP_CHARS = 500

function encode(message: BusMessage): string {
  if (message.type === 'progress' && message.step && message.step.length > MAX_STEP_CHARS) {
    return JSON.stringify({ ...message, step: `${message.step.slice(0, MAX_STEP_CHARS)}…` })
  }
  return JSON.stringify(message)
}

/**
 * Announces events on the events channel. Inside a transaction they are delivered on commit (and
 * dropped on rollback); Postgres takes its notify lock once per transaction however many there are.
 */
export async function notifyEvents(db: Kysely<any>, messages: BusMessage[]): Promise<void> {
  if (messages.length === 0) return
  await sql`select pg_notify(${EVENTS_CHANNEL}, m) from unnest(${messages.map(encode)}::text[]) m`.execute(db)
}
