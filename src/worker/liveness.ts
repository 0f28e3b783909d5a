import type pg from 'pg'
import type { Logger } from '../logger.ts'
import type { JobStore } from '../queue/job-store.ts'
import { type OwnerLockKey, tryOwnerLock } from '../queue/owner-lock.repository.ts'
import type { QueueRunner } from './queue-runner.ts'

/** The session connection the owner lock lives on (the event bus's LISTEN connection, EventBus). */
export interface LockSession {
  withSession<T>(fn: (client: pg.ClientBase) => Promise<T>): Promise<T | undefined>
  isSession(client: pg.ClientBase): boolean
  /** The longest a live process's session connection can stay lost while the database answers (ms). */
  readonly reconnectWithinMs: number
}

/** How long an owner's lock must stay free before its claims are failed, by default (ms). */
export const LIVENESS_GRACE_MS = 1_000

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
   * (default {@link LIVENESS_GRACE_MS}). A dead process's lock never comes back. A live one whose
   * LISTEN connection was cut (pg_terminate_backend, a pooler restart) is told at once, reconnects at
   * once and takes its lock before the connection counts as up (EventBus onSession): one connection
   * set-up, tens of ms unloaded, so the second of grace is its margin on a loaded machine.
   */
  graceMs?: number
  /**
   * After this process takes its own lock again (a reconnect), how long it judges no other owner
   * (default: the session's reconnectWithinMs plus the grace, 9.5 s with the bus's defaults). When
   * its own connection dropped, others' may have too (a failover) and may take longer to notice (a
   * ping). Not applied to a process's first lock.
   */
  settleMs?: number
}

/** What one pass saw and did. */
export interface LivenessPass {
  /** This process holds its own owner lock (passes judge others only then). */
  held: boolean
  /** It took its lock less than the settle period ago: no other owner was judged. */
  settling: boolean
  /** Owners with active claims whose lock no session holds. */
  unheld: number
  /** Claims failed as lapsed (their owners' locks stayed free for the grace). */
  failed: number
}

/**
 * Crash recovery on disconnect. This process holds its owner lock on its LISTEN connection, taken
 * as that connection is set up ({@link Liveness.adopt}, EventBus onSession); every pass (500 ms)
 * reads which owners of active claims on this process's queues hold no lock, and once an owner's lock
 * has stayed free for the grace (1 s), fails its claims exactly as pg-boss's monitor fails a lapsed
 * heartbeat (owner-lock.repository.ts): a started claim spends its attempt (retried after its retry
 * delay, or failed and recorded as "worker lost" on the last), an unstarted one is put back unspent
 * at once (recoverUnstartedClaims). A killed process's claims are so failed 1–1.5 s after its death.
 *
 * Not judged dead: a slow process (a blocked handler, a blocked event loop) keeps its connection and
 * so its lock; only its heartbeat timeout can lapse. A live process whose LISTEN connection was cut
 * reconnects at once and holds its lock again within the grace; after this process's own reconnect
 * it judges no one for the settle period (others may be reconnecting too, and a lost connection
 * nobody announced is found by a ping, seconds later). Misjudged, and so run
 * twice: a live process cut off from the database for longer than the grace while others reach it.
 * Started only where session locks work (sessionLocksWork); elsewhere claims come back by heartbeat.
 * @example
 * const liveness = new Liveness({ store, session: bus, lock, runners: () => runners, log })
 * // new EventBus({ ..., onSession: (c) => liveness.adopt(c) }); await bus.start()
 * await liveness.start() // passes every 500 ms until stop()
 * // runOnce() rejects on a database error; the timer logs it and tries again at the next pass
 */
export class Liveness {
  readonly #d: LivenessDeps
  #timer: NodeJS.Timeout | null = null
  #running: Promise<unknown> | null = null
  /** The connection the lock was taken on: a new LISTEN connection must take it again. */
  #lockedOn: pg.ClientBase | null = null
  /** performance.now() until which no other owner is judged (set when the lock is taken). */
  #settleUntil = 0
  /** Warned that the lock could not be taken back (once per loss). */
  #warned = false
  /** Owner key → performance.now() of the first pass that saw its lock free. */
  readonly #unheldSince = new Map<number, number>()

  constructor(deps: LivenessDeps) {
    this.#d = deps
  }

  /**
   * The key to stamp on a claim leased now, or null while this process does not hold its lock (its
   * LISTEN connection is down, or its lock could not be taken): such claims come back by heartbeat,
   * never as a dead owner's.
   */
  leaseOwner(): number | null {
    return this.#lockedOn && this.#d.session.isSession(this.#lockedOn) ? this.#d.lock.key : null
  }

  /**
   * Takes the lock on a new session connection (EventBus onSession calls it before the connection
   * counts as up, so a reconnected process holds its lock before anything uses the connection).
   * @returns whether the lock is held on `client`; false while another session still holds it (the
   * previous connection of this process, not yet gone: passes try again)
   * @throws a query error (the connection dropped meanwhile)
   */
  async adopt(client: pg.ClientBase): Promise<boolean> {
    if (client === this.#lockedOn) return true
    if (!(await tryOwnerLock(client, this.#d.lock))) return false
    // Judged afresh. After a reconnect, only after a settle period: this process's connection
    // dropped, so others' may have too (a failover), and they get time to come back. The first lock
    // of a process settles nothing (its start is no sign of others' trouble; a replacement started
    // after a crash recovers the crashed process's claims at once).
    this.#unheldSince.clear()
    if (this.#lockedOn) this.#settleUntil = performance.now() + this.#settleMs()
    this.#lockedOn = client
    this.#warned = false
    return true
  }

  /** Starts the passes (the first at once). Never throws: a failed pass is logged. */
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

  /**
   * One pass: hold the lock, judge other owners, fail the claims of the dead.
   * @throws a database error (the caller's timer logs it)
   * @example expect(await liveness.runOnce()).toEqual({ held: true, settling: false, unheld: 0, failed: 0 })
   */
  async runOnce(): Promise<LivenessPass> {
    const { store, lock, runners, log } = this.#d
    if (!(await this.#hold())) {
      this.#unheldSince.clear()
      return { held: false, settling: false, unheld: 0, failed: 0 }
    }
    if (performance.now() < this.#settleUntil) return { held: true, settling: true, unheld: 0, failed: 0 }
    const queues = runners().map((r) => r.queue)
    const owners = (await store.unheldOwners(queues, lock.namespace)).filter((k) => k !== lock.key)
    const now = performance.now()
    // Forgotten only once it no longer shows up: a dead owner some of whose claims a pass skipped
    // (row-locked) is still dead at the next.
    for (const k of this.#unheldSince.keys()) if (!owners.includes(k)) this.#unheldSince.delete(k)
    const dead: number[] = []
    for (const k of owners) {
      const since = this.#unheldSince.get(k)
      if (since === undefined) this.#unheldSince.set(k, now)
      else if (now - since >= this.#graceMs()) dead.push(k)
    }
    if (dead.length === 0) return { held: true, settling: false, unheld: owners.length, failed: 0 }
    let failed = 0
    for (const runner of runners()) {
      failed += (await store.failDeadOwnerClaims(runner.queue, dead, lock.namespace)).length
    }
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
    return { held: true, settling: false, unheld: owners.length, failed }
  }

  #graceMs(): number {
    return this.#d.graceMs ?? LIVENESS_GRACE_MS
  }

  #settleMs(): number {
    return this.#d.settleMs ?? this.#d.session.reconnectWithinMs + this.#graceMs()
  }

  /** Whether this process holds its lock; takes it on a new LISTEN connection if adopt could not. */
  async #hold(): Promise<boolean> {
    const held = await this.#d.session.withSession((client) => this.adopt(client))
    if (held === false && !this.#warned) {
      // Connected, yet the lock is refused (still held by a connection of ours not yet gone, or a key
      // collision): claims leased now go unstamped (they come back by heartbeat) until it is taken.
      this.#warned = true
      this.#d.log.warn(
        'owner lock refused on the LISTEN connection: claims leased meanwhile come back by heartbeat, not at once',
      )
    }
    return held === true
  }
}
