import { hostname } from 'node:os'
import type { Kysely } from 'kysely'
import type { Database } from '../db/database.ts'
import type { Logger } from '../logger.ts'
import type { JobStore } from '../queue/job-store.ts'
import { beat, removeSilentWorkers, removeWorker } from '../workers/worker-process.repository.ts'
import { fence } from './leased-job.ts'
import type { QueueRunner } from './queue-runner.ts'

const TICK_MS = 1_000

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
 */
export class Heartbeat {
  readonly #d: HeartbeatDeps
  #timer: NodeJS.Timeout | null = null
  #lastCpu = process.cpuUsage()
  #lastAt = performance.now()
  #beating: Promise<void> | null = null
  #lastBeatAt = Number.NEGATIVE_INFINITY

  constructor(deps: HeartbeatDeps) {
    this.#d = deps
  }

  async start(): Promise<void> {
    if (this.#timer) return
    await this.runOnce().catch((err) =>
      this.#d.log.warn({ err: (err as Error).message }, 'first heartbeat failed'),
    )
    // Ticks every second; beats when due. Due is a third of the shortest heartbeat timeout among this
    // process's own setting and those stamped on the jobs it holds: a job enqueued by a process with a
    // 5 s timeout must be touched every ~1.7 s even where this worker's own timeout is 30 s.
    this.#timer = setInterval(() => {
      if (this.#beating || performance.now() - this.#lastBeatAt < this.#dueEveryMs()) return
      this.#beating = this.runOnce()
        .catch((err) => this.#d.log.warn({ err: (err as Error).message }, 'heartbeat failed'))
        .finally(() => {
          this.#beating = null
        })
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
    return Math.max(TICK_MS, Math.floor(shortest / 3))
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = null
    await this.#beating
    await removeWorker(this.#d.db, this.#d.workerId).catch(() => {})
  }

  async runOnce(): Promise<void> {
    this.#lastBeatAt = performance.now()
    const { db, store, workerId, runners } = this.#d
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
