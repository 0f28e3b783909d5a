import { type Kysely, sql } from 'kysely'
import type { Database } from '../db/database.ts'
import { type CanonicalRequest, REQUEST_HASH_SQL } from './canonical-request.ts'

export interface KeyClaim {
  key: string
  taskId: string
  task: string
  /** What the request means; PostgreSQL hashes it (see canonical-request.ts). */
  request: CanonicalRequest
}

export interface ClaimOutcome {
  /** The hash of this claim's canonical request (the value stored with the key). */
  requestHash: string
  /** This transaction now holds the key for this claim's taskId. */
  owned: boolean
}

/**
 * Claims idempotency keys inside the enqueue transaction, one outcome per claim in order. Several
 * claims may share a key (a batch repeating one): the first is inserted, the others only hashed. For
 * a key another transaction holds, the insert waits for that transaction to finish (the primary key
 * serialises racing callers), so a key is never claimed twice. The hash is computed here, by
 * PostgreSQL, so a request enqueued from SQL (`idempotency_request_hash`) hashes identically.
 */
export async function claimKeys(db: Kysely<Database>, claims: KeyClaim[]): Promise<ClaimOutcome[]> {
  if (claims.length === 0) return []
  const payload = JSON.stringify(
    claims.map((c, ord) => ({ ord, key: c.key, task_id: c.taskId, task: c.task, request: c.request })),
  )
  // ::text::jsonb, as pg-boss writes it: this runs on the caller's connection too, and drivers that
  // type parameters from the server (postgres.js) would encode a string bound as jsonb a second time.
  const input = sql`(select x.ord, x.key, x.task_id, x.task, ${sql.raw(REQUEST_HASH_SQL('x.request'))} as request_hash
    from jsonb_to_recordset(${payload}::text::jsonb) as x(ord int, key text, task_id uuid, task text, request jsonb))`
  const rows = await db
    // A raw CTE (jsonb_to_recordset): Kysely's with() types only builders.
    .with('input', (() => input) as any)
    .with('claimed', (qb) =>
      qb
        .insertInto('idempotency_key')
        .columns(['key', 'task_id', 'task', 'request_hash'])
        .expression(
          sql`select distinct on (key) key, task_id, task, request_hash from input order by key, ord`,
        )
        .onConflict((oc) => oc.column('key').doNothing())
        .returning(['key', 'task_id']),
    )
    .selectFrom('input' as any)
    .leftJoin('claimed' as any, 'claimed.key', 'input.key')
    .select([
      sql<string>`input.request_hash`.as('request_hash'),
      sql<boolean>`coalesce(claimed.task_id = input.task_id, false)`.as('owned'),
    ])
    .orderBy(sql`input.ord`)
    .execute()
  return rows.map((r) => ({ requestHash: r.request_hash, owned: r.owned }))
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
