import pg from 'pg'
import {
  type OwnerLockKey,
  ownerLockHeld,
  releaseOutlivedLock,
  tryOwnerLock,
} from './owner-lock.repository.ts'

/**
 * Whether a session lock taken through `connectionString` is released when that client goes away:
 * true on a direct connection and through PgBouncer's session mode (its reset query unlocks); false
 * through transaction pooling, where the lock stays on a pooled server connection. The probe takes
 * the process's own lock on one connection, closes it, and watches from a second one for up to
 * `waitMs`. Where it answers false, the probe's lock that outlived its client is freed again
 * (freeOutlivedLock) so that no pooled server connection keeps it.
 * Opens two connections of its own and closes both before it returns.
 * @throws a connection error (the database is unreachable through `connectionString`)
 * @example const usable = await sessionLocksWork(url, { namespace: 12, key: 34 }) // true on a direct URL
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
    await freeOutlivedLock(watcher, lock, until + waitMs)
    return false
  } finally {
    await holder.end().catch(() => {})
    await watcher?.end().catch(() => {})
  }
}

/**
 * Frees the probe's lock where it outlived its client on a pooled server connection: left there, it
 * would sit on that connection for the connection's life, in front of every client the pooler hands
 * it to. Best effort until `until` (performance.now() time); a failure is left to the pooler's
 * server_lifetime.
 */
async function freeOutlivedLock(watcher: pg.ClientBase, lock: OwnerLockKey, until: number): Promise<void> {
  while (performance.now() < until) {
    if (await releaseOutlivedLock(watcher, lock).catch(() => false)) return
    await new Promise((r) => setTimeout(r, 20))
  }
}
