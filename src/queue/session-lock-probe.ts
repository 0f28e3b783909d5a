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
 * `waitMs`. Where it answers false, the probe's lock that outlived its client is freed where it can
 * be (freeOutlivedLock). A query that fails while watching also answers false. Only run where
 * `options` are applied (startupOptionsSupport): PgBouncer, which drops or refuses them, is not probed.
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
    try {
      while (performance.now() < until) {
        if (!(await ownerLockHeld(watcher, lock))) return true
        await new Promise((r) => setTimeout(r, 20))
      }
    } catch {
      // The watcher's connection failed mid-probe (a pooler or the server cut it): no answer, so the
      // safe one. The process recovers its claims by heartbeat, as behind any pooler.
      return false
    }
    await freeOutlivedLock(watcher, lock, until + waitMs)
    return false
  } finally {
    await holder.end().catch(() => {})
    await watcher?.end().catch(() => {})
  }
}

/**
 * Frees the probe's lock where it outlived its client on a pooled server connection, when a statement
 * of the watcher lands on that connection. Best effort until `until` (performance.now() time): a lock
 * left there stays until the pooler closes that server connection (server_lifetime), on a key no
 * claim carries, since a process whose probe answered false stamps none.
 */
async function freeOutlivedLock(watcher: pg.ClientBase, lock: OwnerLockKey, until: number): Promise<void> {
  while (performance.now() < until) {
    if (await releaseOutlivedLock(watcher, lock).catch(() => false)) return
    await new Promise((r) => setTimeout(r, 20))
  }
}
