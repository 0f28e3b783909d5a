import { createHash, randomBytes } from 'node:crypto'
import type { OwnerLockKey } from './owner-lock.repository.ts'

/**
 * The owner-lock key of one process life, in the namespace of the pg-boss schema its claims live in
 * (every app leasing from those tables judges the same stamps, so all must read them in one
 * namespace): hashed from the worker id and a nonce, so a process restarted under the same worker id
 * does not take over its predecessor's key (whose claims must come back). 31 bits each
 * (owner-lock.repository.ts).
 * @example ownerLockKey('pgboss', 'web-1:4242:a1b2c3') // { namespace: 1729…, key: 4096… }
 */
export function ownerLockKey(bossSchema: string, workerId: string): OwnerLockKey {
  const h = (s: string) => createHash('sha256').update(s).digest().readUInt32BE(0) & 0x7fffffff
  return {
    namespace: h(`tasklane:owner-lock:${bossSchema}`),
    key: h(`${workerId}:${randomBytes(8).toString('hex')}`),
  }
}
