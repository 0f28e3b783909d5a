import { createHash, randomBytes } from 'node:crypto'
import type pg from 'pg'
import type { Logger } from '../logger.ts'
import type { JobStore } from '../queue/job-store.ts'
import { type OwnerLockKey, tryOwnerLock } from '../queue/owner-lock.repository.ts'
import type { QueueRunner } from './queue-runner.ts'

/** The session connection the owner lock lives on (the event bus's LISTEN connection). */
export interface LockSession {
  withSession<T>(fn: (client: pg.ClientBase) => Promise<T>): Promise<T | undefined>
  isSession(client: pg.ClientBase): boolean
}

export interface LivenessDeps {
  store: Pick<JobStore, 'unheldOwners' | 'failDeadOwnerClaims'>
  session: LockSession
  lock: OwnerLockKey
  runners: () => QueueRunner[]
  log: Logger
  /** How often a pass runs (default 500 ms). */
  everyMs?: number
  /**
   * How long an owner's lock must stay free, seen from two passes, before its claims are failed
   * (default 1 s). A dead process's lock never comes back; a live one whose LISTEN connection dropped
   * (a terminated backend, a database restart) takes it again within one reconnect (500 ms).
   */
  graceMs?: number
}

/** What one pass saw and did. */
export interface LivenessPass {
  /** This process holds its own owner lock (passes judge others only then). */
  held: boolean
  /** Owners with active claims whose lock no session holds. */
  unheld: number
  /** Claims failed as lapsed (their owners' locks stayed free for the grace). */
  failed: number
}

/**
 * The owner-lock key of one process life, in the app's namespace (its tasklane schema): hashed from
 * the worker id and a nonce, so a process restarted under the same worker id does not take over its
 * predecessor's key (whose claims must come back). 31 bits each (owner-lock.repository.ts).
 * @example ownerLockKey('tasklane', 'web-1:4242:a1b2c3') // { namespace: 1729…, key: 4096… }
 */
export function ownerLockKey(schema: string, workerId: string): OwnerLockKey {
  const h = (s: string) => createHash('sha256').update(s).digest().readUInt32BE(0) & 0x7fffffff
  return {
    namespace: h(`tasklane:owner-lock:${schema}`),
    key: h(`${workerId}:${randomBytes(8).toString('hex')}`),
  }
}

/**
 * Crash recovery on disconnect. This process holds its owner lock on its LISTEN connection; every
 * pass (500 ms) reads which owners of active claims on this process's queues hold no lock, and once
 * an owner's lock has stayed free for the grace, fails its claims exactly as pg-boss's monitor fails
 * a lapsed heartbeat (owner-lock.repository.ts): a started claim spends its attempt (retry, or failed
 * and recorded as "worker lost" on the last), an unstarted one is put back unspent at once
 * (recoverUnstartedClaims). A slow process (a blocked handler, a blocked event loop) keeps its
 * connection and so its lock: it is never recovered here; only its heartbeat timeout can lapse.
 * Started only where session locks work (sessionLocksWork); elsewhere claims come back by heartbeat.
 */
export class Liveness {
  readonly #d: LivenessDeps
  #timer: NodeJS.Timeout | null = null
  #running: Promise<unknown> | null = null
  /** The connection the lock was taken on: a new LISTEN connection must take it again. */
  #lockedOn: pg.ClientBase | null = null
  /** Owner key → performance.now() of the first pass that saw its lock free. */
  readonly #unheldSince = new Map<number, number>()

  constructor(deps: LivenessDeps) {
    this.#d = deps
  }

  /**
   * The key to stamp on a claim leased now, or null while this process does not hold its lock (its
   * LISTEN connection is down or new): such claims come back by heartbeat, never as a dead owner's.
   */
  leaseOwner(): number | null {
    return this.#lockedOn && this.#d.session.isSession(this.#lockedOn) ? this.#d.lock.key : null
  }

  /** Takes the lock (first pass) before returning, so claims leased afterwards are covered. */
  async start(): Promise<void> {
    if (this.#timer) return
    await this.runOnce().catch((err) =>
      this.#d.log.warn({ err: (err as Error).message }, 'first liveness pass failed'),
    )
    this.#timer = setInterval(() => {
      if (this.#running) return
      this.#running = this.runOnce()
        .catch((err) => this.#d.log.warn({ err: (err as Error).message }, 'liveness pass failed'))
        .finally(() => {
          this.#running = null
        })
    }, this.#d.everyMs ?? 500)
    this.#timer.unref()
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = null
    await this.#running
  }

  /** One pass: hold the lock, judge other owners, fail the claims of the dead. */
  async runOnce(): Promise<LivenessPass> {
    const { store, lock, runners, log } = this.#d
    if (!(await this.#hold())) {
      this.#unheldSince.clear()
      return { held: false, unheld: 0, failed: 0 }
    }
    const queues = runners().map((r) => r.queue)
    const owners = (await store.unheldOwners(queues, lock.namespace)).filter((k) => k !== lock.key)
    const now = performance.now()
    for (const k of this.#unheldSince.keys()) if (!owners.includes(k)) this.#unheldSince.delete(k)
    const dead: number[] = []
    for (const k of owners) {
      const since = this.#unheldSince.get(k)
      if (since === undefined) this.#unheldSince.set(k, now)
      else if (now - since >= (this.#d.graceMs ?? 1_000)) dead.push(k)
    }
    if (dead.length === 0) return { held: true, unheld: owners.length, failed: 0 }
    let failed = 0
    for (const runner of runners()) {
      failed += (await store.failDeadOwnerClaims(runner.queue, dead, lock.namespace)).length
    }
    for (const k of dead) this.#unheldSince.delete(k)
    if (failed > 0) {
      log.warn(
        { failed },
        'claims of worker processes whose connection closed: failed as if their heartbeat lapsed',
      )
      for (const runner of runners()) {
        await runner.recoverUnstarted()
        runner.wake()
      }
    }
    return { held: true, unheld: owners.length, failed }
  }

  /** Whether this process holds its lock; takes it on a new LISTEN connection. */
  async #hold(): Promise<boolean> {
    const held = await this.#d.session.withSession(async (client) => {
      if (client === this.#lockedOn) return true
      if (!(await tryOwnerLock(client, this.#d.lock))) return false
      // Judged afresh from here: owners that reconnect alongside this process get the whole grace.
      this.#unheldSince.clear()
      this.#lockedOn = client
      return true
    })
    return held === true
  }
}
