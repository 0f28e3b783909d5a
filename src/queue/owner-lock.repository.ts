import { type Kysely, sql } from 'kysely'
import type pg from 'pg'
import type { Database } from '../db/database.ts'
import { fromKysely, type PgBoss } from './boss.ts'
import { OWNER_LOCK_RELEASED_OUTPUT } from './boss-failure.ts'
import type { BossJobData } from './boss-job.ts'

/**
 * Owner locks: each worker process holds one session-level advisory lock, (namespace, key), on its
 * LISTEN connection for its life, and stamps the key on every claim it leases (`output.leasedBy`,
 * see leaseStatement). PostgreSQL drops a session's locks the moment its connection closes, and a
 * killed process's sockets close at once, so any live process can tell a dead owner from a slow one
 * by asking pg_locks: no timeout involved. Keys are 31-bit so that they read back from pg_locks'
 * oid columns unchanged; the two-int form shows there with objsubid = 2.
 */

/** The claim stamp's key in pg-boss's `output` (never `value`/`error`: those mean a failure). */
export const LEASED_BY = 'leasedBy'

/**
 * `column` (pg-boss's job output, SQL text) without the owner stamp; anything that is no object
 * stays as it is. For every path that puts a claim back: a stamp that outlives its claim names a
 * process that may be gone, and a later unstamped claim of the job would be judged by it.
 * @example `set output = ${withoutOwnerStamp('j.output')}`
 */
export function withoutOwnerStamp(column: string): string {
  return `case when jsonb_typeof(${column}) = 'object' then ${column} - '${LEASED_BY}' else ${column} end`
}

/**
 * Drops the owner stamp from one job (any state): pg-boss's cancel, resume and retry keep output,
 * so a cancelled claim's stamp would otherwise come back with the job. Returns whether it had one.
 */
export async function clearOwnerStamp(
  db: Kysely<Database>,
  bossSchema: string,
  queue: string,
  id: string,
): Promise<boolean> {
  const result = await sql`
    update ${sql.table(`${bossSchema}.job`)} set output = output - ${LEASED_BY}
    where name = ${queue} and id = ${id}::uuid and jsonb_typeof(output) = 'object' and output ? ${LEASED_BY}`.execute(
    db,
  )
  return Number(result.numAffectedRows ?? 0) > 0
}

/** An owner lock: the namespace of the claims' pg-boss schema and the process's key in it. */
export interface OwnerLockKey {
  namespace: number
  key: number
}

const HELD = (ns: number, key: unknown) => sql`exists (
  select 1 from pg_locks l
  where l.locktype = 'advisory' and l.granted and l.objsubid = 2
    and l.database = (select oid from pg_database where datname = current_database())
    and l.classid = ${ns}::int4::oid and l.objid = ${key}::int4::oid)`

/**
 * Takes the owner lock on a session connection, without waiting. False when another session holds
 * it (the previous connection of this process, not yet gone; or, once in 2^31, another process).
 * Held until that connection closes (taking it twice on one session stacks; never unlocked here).
 * @throws a query error (the connection is gone)
 * @example if (await tryOwnerLock(listenClient, { namespace: 12, key: 34 })) stampClaimsWith(34)
 */
export async function tryOwnerLock(client: pg.ClientBase, lock: OwnerLockKey): Promise<boolean> {
  const { rows } = await client.query<{ held: boolean }>(
    'select pg_try_advisory_lock($1::int4, $2::int4) as held',
    [lock.namespace, lock.key],
  )
  return rows[0]?.held === true
}

/**
 * Whether any session holds the lock (reads pg_locks; works through any pooler).
 * @throws a query error (the connection is gone)
 * @example await ownerLockHeld(client, { namespace: 12, key: 34 }) // false once its holder disconnected
 */
export async function ownerLockHeld(client: pg.ClientBase, lock: OwnerLockKey): Promise<boolean> {
  const { rows } = await client.query<{ held: boolean }>(
    `select exists (
       select 1 from pg_locks l
       where l.locktype = 'advisory' and l.granted and l.objsubid = 2
         and l.database = (select oid from pg_database where datname = current_database())
         and l.classid = $1::int4::oid and l.objid = $2::int4::oid) as held`,
    [lock.namespace, lock.key],
  )
  return rows[0]?.held === true
}

/**
 * Frees an owner lock that outlived its client on a pooled server connection (sessionLocksWork's
 * probe through a pooler that forwards `options`): only when this statement runs on that very server
 * connection, which the pooler may hand to any client. Never by terminating the holder: the pooler
 * may be handing that connection to another client at that moment, whose statement would be cut.
 * @returns whether no session holds the lock afterwards
 * @throws a query error (the connection is gone)
 * @example if (!(await releaseOutlivedLock(watcher, lock))) retryLater()
 */
export async function releaseOutlivedLock(client: pg.ClientBase, lock: OwnerLockKey): Promise<boolean> {
  await client.query(
    `select pg_advisory_unlock($1::int4, $2::int4)
     from pg_locks l
     where l.locktype = 'advisory' and l.granted and l.objsubid = 2 and l.pid = pg_backend_pid()
       and l.classid = $1::int4::oid and l.objid = $2::int4::oid`,
    [lock.namespace, lock.key],
  )
  return !(await ownerLockHeld(client, lock))
}

/**
 * The owner keys stamped on active claims of these queues whose owner lock no session holds: their
 * owners' connections are gone (dead, or reconnecting: the caller tells the two apart, liveness.ts).
 * Reads pg-boss's live-state index job_i14 (name, state) for the active claims.
 * @throws a query error
 * @example await unheldOwners(db, 'pgboss', ['default'], ns) // [40961234]: one owner's lock is free
 */
export async function unheldOwners(
  db: Kysely<Database>,
  bossSchema: string,
  queues: string[],
  namespace: number,
): Promise<number[]> {
  if (queues.length === 0) return []
  const { rows } = await sql<{ owner: number }>`
    with held as materialized (
      select l.objid::int8 as key from pg_locks l
      where l.locktype = 'advisory' and l.granted and l.objsubid = 2
        and l.database = (select oid from pg_database where datname = current_database())
        and l.classid = ${namespace}::int4::oid
    )
    select distinct (j.output->>${LEASED_BY})::int as owner
    from ${sql.table(`${bossSchema}.job`)} j
    where j.name = any(${queues}::text[]) and j.state = 'active' and j.output ? ${LEASED_BY}
      and (j.output->>${LEASED_BY})::int8 not in (select key from held)`.execute(db)
  return rows.map((r) => Number(r.owner))
}

/** A claim of a dead owner, locked for failing: its fence and what its retry needs. */
export interface DeadOwnerClaim {
  id: string
  retryCount: number
  /** Its handler started (an attempt is spent); an unstarted one is put back unspent instead. */
  started: boolean
  data: BossJobData | null
  retryDelay: number
  retryBackoff: boolean
  retryDelayMax: number | null
}

/**
 * Locks the active claims of a queue whose owners are dead, for {@link failDeadOwnerClaims}: their
 * owners' locks are checked again under the row locks, so a claim leased again meanwhile (by a live
 * process, stamped with its key) is left alone. Claims row-locked by another transaction are skipped
 * (a later pass finds them). Call it inside the transaction that fails them.
 * @throws a query error
 */
export async function lockDeadOwnerClaims(
  trx: Kysely<Database>,
  bossSchema: string,
  queue: string,
  owners: number[],
  namespace: number,
): Promise<DeadOwnerClaim[]> {
  if (owners.length === 0) return []
  const { rows } = await sql<DeadOwnerClaim>`
    select j.id, j.retry_count as "retryCount", j.started_on is not null as started, j.data,
      j.retry_delay as "retryDelay", j.retry_backoff as "retryBackoff", j.retry_delay_max as "retryDelayMax"
    from ${sql.table(`${bossSchema}.job`)} j
    where j.name = ${queue} and j.state = 'active'
      and (j.output->>${LEASED_BY})::int = any(${owners}::int[])
      and not ${HELD(namespace, sql`(j.output->>${LEASED_BY})::int`)}
    order by j.id
    for update of j skip locked`.execute(trx)
  return rows
}

/**
 * Fails claims of dead owners ({@link lockDeadOwnerClaims}, same transaction) as pg-boss's monitor
 * fails a claim whose heartbeat lapsed: the same statement, and its output shape with a message of its
 * own (OWNER_LOCK_RELEASED_OUTPUT in boss-failure.ts), so that everything downstream — unstarted
 * claims put back, terminal failures recorded as "worker lost", lost attempts recorded at the next
 * lease — is the one path, while the record says which detector spoke. pg-boss schedules the retries
 * in whole seconds; the caller sets them to the millisecond (setRetryStarts) in the same transaction.
 * Returns the ids failed.
 * @throws a query error (roll the transaction back: nothing failed)
 * @example await failDeadOwnerClaims(trx, boss, 'default', await lockDeadOwnerClaims(trx, 'pgboss', 'default', [40961234], ns)) // ['0193…']
 */
export async function failDeadOwnerClaims(
  trx: Kysely<Database>,
  boss: PgBoss,
  queue: string,
  claims: Pick<DeadOwnerClaim, 'id' | 'retryCount'>[],
): Promise<string[]> {
  if (claims.length === 0) return []
  const fences = claims.map((c) => ({ id: c.id, retryCount: c.retryCount }))
  const response = (await boss.fail(queue, fences, OWNER_LOCK_RELEASED_OUTPUT, { db: fromKysely(trx) })) as {
    settled?: string[]
  }
  return response.settled ?? claims.map((c) => c.id)
}
