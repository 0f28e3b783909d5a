import { type Kysely, sql } from 'kysely'
import { scopedSchema } from '../db/scoped-schema.ts'
import type { BusMessage, StatusEvent } from './event-types.ts'
import { eventsChannel } from './events-channel.ts'

// NOTIFY payloads are limited to 8000 bytes; a step text is the only unbounded field.
const MAX_STEP_CHARS = 500
const MAX_PAYLOAD = 7_500

/**
 * Wire format of several status events in one notification: [taskId, task, queue, status, attempt?]
 * tuples sharing one timestamp. A busy worker settles hundreds of tasks per transaction; one NOTIFY
 * each would cost the database a queue entry and every listener a JSON.parse per task.
 */
export interface StatusBatchWire {
  type: 'status-batch'
  at: string
  e: [string, string, string, StatusEvent['status'], number?][]
}

function encodeOne(message: BusMessage): string {
  if (message.type === 'progress' && message.step && message.step.length > MAX_STEP_CHARS) {
    // toWellFormed: the cut may fall inside a surrogate pair.
    return JSON.stringify({ ...message, step: `${message.step.slice(0, MAX_STEP_CHARS).toWellFormed()}…` })
  }
  return JSON.stringify(message)
}

/** Encodes messages into as few payloads as fit: status events are packed into batches. */
export function encodeMessages(messages: BusMessage[]): string[] {
  const payloads: string[] = []
  let batch: StatusBatchWire | null = null
  let size = 0
  for (const m of messages) {
    if (m.type !== 'status') {
      payloads.push(encodeOne(m))
      continue
    }
    const tuple: StatusBatchWire['e'][number] = m.attempt
      ? [m.taskId, m.task, m.queue, m.status, m.attempt]
      : [m.taskId, m.task, m.queue, m.status]
    const tupleSize = JSON.stringify(tuple).length + 1
    if (!batch || size + tupleSize > MAX_PAYLOAD) {
      if (batch) payloads.push(JSON.stringify(batch))
      // `type` first: isStatusBatch reads it without parsing.
      batch = { type: 'status-batch', at: m.at, e: [] }
      size = 60
    }
    batch.e.push(tuple)
    size += tupleSize
  }
  if (batch) payloads.push(JSON.stringify(batch))
  return payloads
}

const STATUS_BATCH_HEAD = '{"type":"status-batch",'

/** Whether a received payload is a batch of status events (encodeMessages writes `type` first). */
export function isStatusBatch(payload: string): boolean {
  return payload.startsWith(STATUS_BATCH_HEAD)
}

/** Expands a received payload into the messages it carries. */
export function decodePayload(payload: string): BusMessage[] {
  const parsed = JSON.parse(payload) as BusMessage | StatusBatchWire
  if (parsed.type !== 'status-batch') return [parsed]
  return parsed.e.map(([taskId, task, queue, status, attempt]) => ({
    type: 'status' as const,
    taskId,
    task,
    queue,
    status,
    ...(attempt ? { attempt } : {}),
    at: parsed.at,
  }))
}

/**
 * Announces events on the events channel of the schema `db` is scoped to (every caller holds
 * tasklane's scoped Kysely or a transaction of it, so the channel follows TASKLANE_SCHEMA without
 * being passed around). Inside a transaction they are delivered on commit (and dropped on rollback);
 * Postgres takes its notify lock once per transaction however many there are.
 */
export async function notifyEvents(db: Kysely<any>, messages: BusMessage[]): Promise<void> {
  if (messages.length === 0) return
  const channel = eventsChannel(scopedSchema(db))
  const payloads = encodeMessages(messages)
  if (payloads.length === 1) {
    await sql`select pg_notify(${channel}, ${payloads[0]})`.execute(db)
    return
  }
  await sql`select pg_notify(${channel}, m) from unnest(${payloads}::text[]) m`.execute(db)
}
