import { type Kysely, sql } from 'kysely'
import pg from 'pg'
import type { Database } from '../db/database.ts'
import { fromKysely, type PgBoss } from './boss.ts'
import { OWNER_LOCK_RELEASED_OUTPUT } from './boss-failure.ts'

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

/** An owner lock: the namespace of the app (its schema) and the process's key in it. */
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
 */
export async function tryOwnerLock(client: pg.ClientBase, lock: OwnerLockKey): Promise<boolean> {
  const { rows } = await client.query<{ held: boolean }>(
    'select pg_try_advisory_lock($1::int4, $2::int4) as held',
    [lock.namespace, lock.key],
  )
  return rows[0]?.held === true
}

/** Whether any session holds the lock (reads pg_locks; works through any pooler). */
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
 * Whether a session lock taken through `connectionString` is released when that client goes away:
 * true on a direct connection and through PgBouncer's session mode (its reset query unlocks); false
 * through transaction pooling, where the lock stays on a pooled server connection. The probe takes
 * the process's own lock on one connection, closes it, and watches from a second one for up to
 * `waitMs`. Where it answers false, the probe's lock that outlived its client is freed again
 * (releaseOutlivedLock) so that no pooled server connection keeps it.
 * @example const usable = await sessionLocksWork(url, { namespace: 12, key: 34 })
 */
export async function sessionLocksWork(
  connectionString: string,
  lock: OwnerLockKey,
  waitMs = 5_000,
): Promise<boolean> {
  const connect = async () => {
    const client = new pg.Client({ connectionString, application_name: 'tasklane-probe' })
    client.on('error', () => {})
    await client.connect()
    return client
  }
  const holder = await connect()
  let watcher: pg.Client | null = null
  try {
    if (!(await tryOwnerLock(holder, lock))) return false
    watcher = await connect()
    await holder.end()
    const until = performance.now() + waitMs
    while (performance.now() < until) {
      if (!(await ownerLockHeld(watcher, lock))) return true
      await new Promise((r) => setTimeout(r, 20))
    }
    await releaseOutlivedLock(watcher, lock, until + waitMs)
    return false
  } finally {
    await holder.end().catch(() => {})
    await watcher?.end().catch(() => {})
  }
}

/**
 * Frees the probe's lock where it outlived its client on a pooled server connection: left there, it
 * would sit on that connection for the connection's life, in front of every client the pooler hands
 * it to. The watcher's own statement may run on that very connection (the pooler reuses it): then it
 * unlocks. Otherwise the connection is terminated, but only while it is idle, so no other client's
 * transaction is cut (the pooler drops the closed connection and opens another when needed).
 * Best effort until `until` (performance.now() time); a failure is left to the pooler's server_lifetime.
 */
async function releaseOutlivedLock(watcher: pg.ClientBase, lock: OwnerLockKey, until: number): Promise<void> {
  while (performance.now() < until) {
    const released = await watcher
      .query(
        `select case when l.pid = pg_backend_pid() then pg_advisory_unlock($1::int4, $2::int4)
                     else pg_terminate_backend(l.pid) end
         from pg_locks l join pg_stat_activity a on a.pid = l.pid
         where l.locktype = 'advisory' and l.granted and l.objsubid = 2
           and l.database = (select oid from pg_database where datname = current_database())
           and l.classid = $1::int4::oid and l.objid = $2::int4::oid
           and (l.pid = pg_backend_pid() or a.state = 'idle')`,
        [lock.namespace, lock.key],
      )
      .then(() => ownerLockHeld(watcher, lock))
      .then((held) => !held)
      .catch(() => false)
    if (released) return
    await new Promise((r) => setTimeout(r, 20))
  }
}

/**
 * The owner keys stamped on active claims of these queues whose owner lock no session holds: their
 * owners' connections are gone (dead, or reconnecting: the caller tells the two apart, liveness.ts).
 * Reads pg-boss's live-state index job_i14 (name, state) for the active claims.
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

/**
 * Fails the active claims of a queue whose owners are dead, as pg-boss's monitor fails a claim whose
 * heartbeat lapsed (the same statement, and its output shape with a message of its own,
 * OWNER_LOCK_RELEASED_OUTPUT in boss-failure.ts, so that everything downstream — unstarted claims put
 * back, terminal failures recorded as "worker lost", lost attempts recorded at the next lease — is
 * the one path, while the record says which detector spoke): retry, or failed on the last attempt.
 * In one transaction: the claims are locked and their owners' locks checked again first, so a claim
 * leased again meanwhile (by a live process, stamped with its key) is left alone. Returns the ids
 * failed.
 */
export async function failDeadOwnerClaims(
  db: Kysely<Database>,
  boss: PgBoss,
  bossSchema: string,
  queue: string,
  owners: number[],
  namespace: number,
): Promise<string[]> {
  if (owners.length === 0) return []
  return db.transaction().execute(async (trx) => {
    const { rows } = await sql<{ id: string; retry_count: number }>`
      select j.id, j.retry_count from ${sql.table(`${bossSchema}.job`)} j
      where j.name = ${queue} and j.state = 'active'
        and (j.output->>${LEASED_BY})::int = any(${owners}::int[])
        and not ${HELD(namespace, sql`(j.output->>${LEASED_BY})::int`)}
      order by j.id
      for update of j skip locked`.execute(trx)
    if (rows.length === 0) return []
    const fences = rows.map((r) => ({ id: r.id, retryCount: r.retry_count }))
    const response = (await boss.fail(queue, fences, OWNER_LOCK_RELEASED_OUTPUT, {
      db: fromKysely(trx),
    })) as {
      settled?: string[]
    }
    return response.settled ?? rows.map((r) => r.id)
  })
}
