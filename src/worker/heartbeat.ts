import { hostname } from 'node:os'
import type { Kysely } from 'kysely'
import type { Database } from '../db/database.ts'
import type { Logger } from '../logger.ts'
import type { JobStore } from '../queue/job-store.ts'
import { beat, removeSilentWorkers, removeWorker } from '../workers/worker-process.repository.ts'
import { fence } from './leased-job.ts'
import type { QueueRunner } from './queue-runner.ts'

/**
 * How often the timer checks whether a beat is due. Fine-grained so that a beat due every 1.7 s
 * (a 5 s timeout) goes out at 1.75 s, not at the next whole second (2 s: 40 % of the timeout gone
 * before the touch is even sent).
 */
const TICK_MS = 250

export interface HeartbeatDeps {
  db: Kysely<Database>
  store: JobStore
  workerId: string
  runners: () => QueueRunner[]
  heartbeatTimeoutMs: number
  memoryPoolMb: number
  log: Logger
  busyMsTotal: () => number
}

/**
 * Keeps this process's claims and registry row alive. Every beat touches the heartbeat of each job
 * this process holds (the store fails and re-queues a job whose heartbeat lapses: that is how a killed
 * worker's tasks come back), refreshes the worker_process row with busy slots, RSS and CPU, and drops
 * rows of processes that went silent. A held job the touch no longer finds was cancelled or reclaimed
 * elsewhere: its attempt is aborted here. Each beat also puts back the claims of dead processes whose
 * handlers never started (JobStore.recoverUnstarted), so those come back queued with no attempt spent.
 *
 * The touch runs on its own: it never waits for the rest of a beat (the registry row, recovery, the
 * silent-worker sweep, on tasklane's pool, behind this process's own settles). When it did, a busy
 * worker on a loaded machine touched its claims at gaps of up to 4.1 s against a 5 s timeout (fault
 * tests at load ~25: 2 s schedule + a previous beat's 1-2 s upkeep + a 1 s touch), and a late touch
 * loses live claims (pg-boss fails them; their attempts are spent).
 */
export class Heartbeat {
  readonly #d: HeartbeatDeps
  #timer: NodeJS.Timeout | null = null
  #lastCpu = process.cpuUsage()
  #lastAt = performance.now()
  #touching: Promise<void> | null = null
  #upkeep: Promise<void> | null = null
  #lastTouchAt = Number.NEGATIVE_INFINITY
  #lastUpkeepAt = Number.NEGATIVE_INFINITY

  constructor(deps: HeartbeatDeps) {
    this.#d = deps
  }

  async start(): Promise<void> {
    if (this.#timer) return
    await this.runOnce().catch((err) =>
      this.#d.log.warn({ err: (err as Error).message }, 'first heartbeat failed'),
    )
    // Ticks every 250 ms; touches when due, and keeps the registry when due, each on its own (one of
    // each in flight at most). Due is a third of the shortest heartbeat timeout among this process's
    // own setting and those stamped on the jobs it holds: a job enqueued by a process with a 5 s
    // timeout must be touched every ~1.7 s even where this worker's own timeout is 30 s.
    this.#timer = setInterval(() => {
      const now = performance.now()
      const due = this.#dueEveryMs()
      if (!this.#touching && now - this.#lastTouchAt >= due) {
        this.#touching = this.touchClaims()
          .catch((err) => this.#d.log.warn({ err: (err as Error).message }, 'heartbeat failed'))
          .finally(() => {
            this.#touching = null
          })
      }
      if (!this.#upkeep && now - this.#lastUpkeepAt >= due) {
        this.#upkeep = this.keepRegistry()
          .catch((err) => this.#d.log.warn({ err: (err as Error).message }, 'worker registry beat failed'))
          .finally(() => {
            this.#upkeep = null
          })
      }
    }, TICK_MS)
    this.#timer.unref()
  }

  #dueEveryMs(): number {
    let shortest = this.#d.heartbeatTimeoutMs
    for (const runner of this.#d.runners()) {
      for (const job of runner.claims()) {
        if (job.heartbeatMs) shortest = Math.min(shortest, job.heartbeatMs)
      }
    }
    return Math.max(1_000, Math.floor(shortest / 3))
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = null
    await this.#touching
    await this.#upkeep
    await removeWorker(this.#d.db, this.#d.workerId).catch(() => {})
  }

  /** One whole beat: the touch, then the registry upkeep. */
  async runOnce(): Promise<void> {
    await this.touchClaims()
    await this.keepRegistry()
  }

  /** Touches the heartbeat of every claim this process holds; aborts the attempts of those gone. */
  async touchClaims(): Promise<void> {
    this.#lastTouchAt = performance.now()
    const { store, runners } = this.#d
    for (const runner of runners()) {
      const claims = runner.claims()
      if (claims.length === 0) continue
      const sentMono = performance.now()
      const touched = await store.touch(runner.queue, claims.map(fence))
      if (!touched) continue
      for (const job of claims) {
        if (!touched.has(job.id)) runner.abort(job.id, 'lost')
      }
      runner.claimsConfirmed(sentMono)
    }
  }

  /** Recovers dead processes' unstarted claims, refreshes this process's row, drops silent ones. */
  async keepRegistry(): Promise<void> {
    this.#lastUpkeepAt = performance.now()
    const { db, workerId, runners } = this.#d
    for (const runner of runners()) await runner.recoverUnstarted()
    const now = performance.now()
    const cpu = process.cpuUsage(this.#lastCpu)
    const cpuPercent = ((cpu.user + cpu.system) / 1000 / Math.max(1, now - this.#lastAt)) * 100
    this.#lastCpu = process.cpuUsage()
    this.#lastAt = now
    const memory = process.memoryUsage()
    const all = runners()
    await beat(db, {
      id: workerId,
      host: hostname(),
      pid: process.pid,
      queues: Object.fromEntries(all.map((r) => [r.queue, r.concurrency])),
      concurrency: all.reduce((n, r) => n + r.concurrency, 0),
      busy: all.reduce((n, r) => n + r.busy, 0),
      rssMb: memory.rss / 1024 / 1024,
      heapMb: memory.heapUsed / 1024 / 1024,
      cpuPercent,
      busyMsTotal: this.#d.busyMsTotal(),
      memoryPoolMb: this.#d.memoryPoolMb,
    })
    await removeSilentWorkers(db, this.#d.heartbeatTimeoutMs)
  }
}
