import type { Kysely } from 'kysely'
import type { Database } from '../db/database.ts'

export interface KeyClaim {
  key: string
  taskId: string
  task: string
  requestHash: string
}

/**
 * Claims idempotency keys inside the enqueue transaction. Returns the keys this transaction now owns;
 * for a key another transaction holds, the insert waits for that transaction to finish (the unique
 * index serialises racing callers), so a key is never claimed twice.
 */
export async function claimKeys(db: Kysely<Database>, claims: KeyClaim[]): Promise<Set<string>> {
  if (claims.length === 0) return new Set()
  const rows = await db
    .insertInto('idempotency_key')
    .values(claims.map((c) => ({ key: c.key, task_id: c.taskId, task: c.task, request_hash: c.requestHash })))
    .onConflict((oc) => oc.column('key').doNothing())
    .returning('key')
    .execute()
  return new Set(rows.map((r) => r.key))
}

export async function findKeys(db: Kysely<Database>, keys: string[]) {
  if (keys.length === 0) return new Map<string, { task_id: string; task: string; request_hash: string }>()
  const rows = await db
    .selectFrom('idempotency_key')
    .select(['key', 'task_id', 'task', 'request_hash'])
    .where('key', 'in', keys)
    .execute()
  return new Map(rows.map((r) => [r.key, r]))
}

/** Forgets keys older than `before`, in bounded batches. */
export async function pruneKeys(db: Kysely<Database>, before: Date, batch: number): Promise<number> {
  const result = await db
    .deleteFrom('idempotency_key')
    .where('key', 'in', (eb) =>
      eb.selectFrom('idempotency_key').select('key').where('created_at', '<', before).limit(batch),
    )
    .executeTakeFirst()
  return Number(result.numDeletedRows ?? 0)
}
