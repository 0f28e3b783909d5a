import type { Kysely } from 'kysely'
import type { Database } from '../db/database.ts'
import { buildRequest, type EnqueueRequest } from '../enqueue/enqueue-request.ts'
import { writeRequests } from '../enqueue/enqueue-writer.ts'
import type { Logger } from '../logger.ts'
import type { JobStore } from '../queue/job-store.ts'
import type { TaskRegistry } from '../tasks/registry.ts'
import { nextRuns, parseCron } from './cron-slots.ts'
import { advanceSchedule, claimDueSchedules, databaseNow, upsertSchedule } from './schedule.repository.ts'

export interface SchedulerDeps {
  db: Kysely<Database>
  store: JobStore
  registry: TaskRegistry
  log: Logger
  /** The clock slots are judged by (tests inject one); default: the database's clock. */
  clock?: () => Date
  /** How often a pass looks for due slots (ms, default 1000). */
  intervalMs?: number
}

/** A slot a pass fired: the task it enqueued, or null when its args no longer pass the task's schema. */
export interface FiredSlot {
  task: string
  key: string
  slot: Date
  taskId: string | null
  nextRunAt: Date
}

/** Far future, for a schedule with no further occurrence. */
const NEVER = new Date('9999-12-31T00:00:00.000Z')

/**
 * Fires due schedule slots through tasklane's own enqueue path, so a scheduled task runs with the
 * definition deployed now (priority, retry, timeout), exactly like one enqueued by addTask. Each pass
 * claims due rows FOR UPDATE SKIP LOCKED, enqueues, and moves each row to its next slot in the same
 * transaction: each slot fires once across replicas. Slots missed while no process ran collapse into
 * one run, fired at once. A start/stop service with runOnce() for tests.
 */
export class Scheduler {
  readonly #d: SchedulerDeps
  #timer: NodeJS.Timeout | null = null
  #running: Promise<unknown> | null = null
  #stopped = false

  constructor(deps: SchedulerDeps) {
    this.#d = deps
  }

  async start(): Promise<void> {
    if (this.#timer || this.#stopped) return
    await this.adoptBossSchedules().catch((err) =>
      this.#d.log.warn({ err: (err as Error).message }, 'could not move pg-boss schedules'),
    )
    const tick = () => {
      if (this.#running || this.#stopped) return
      this.#running = this.runOnce()
        .catch((err) => this.#d.log.warn({ err: (err as Error).message }, 'schedule pass failed'))
        .finally(() => {
          this.#running = null
        })
    }
    this.#timer = setInterval(tick, this.#d.intervalMs ?? 1000)
    this.#timer.unref()
    tick()
  }

  /** Idempotent; waits for a pass in flight. */
  async stop(): Promise<void> {
    this.#stopped = true
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = null
    await this.#running
  }

  /** One pass: fires every due slot of the tasks registered here. Returns what it fired. */
  async runOnce(): Promise<FiredSlot[]> {
    const { db, registry, log } = this.#d
    return db.transaction().execute(async (trx) => {
      const now = this.#d.clock?.() ?? (await databaseNow(trx))
      const due = await claimDueSchedules(trx, registry.names(), now, 100)
      const requests: EnqueueRequest[] = []
      const fired: FiredSlot[] = []
      for (const row of due) {
        const task = registry.require(row.task)
        let request: EnqueueRequest | null = null
        try {
          // The definition registered now: its priority, retry policy and timeout.
          request = buildRequest(task, row.args, {})
          requests.push(request)
        } catch (err) {
          log.error(
            { task: row.task, key: row.key, err: (err as Error).message },
            'schedule slot skipped: its args no longer pass the task definition',
          )
        }
        let next = NEVER
        try {
          next = nextRuns(parseCron(row.cron, row.tz), now, 1)[0] ?? NEVER
        } catch (err) {
          log.error({ task: row.task, key: row.key, err: (err as Error).message }, 'schedule is invalid')
        }
        await advanceSchedule(trx, {
          task: row.task,
          key: row.key,
          firedSlot: row.next_run_at,
          taskId: request?.id ?? null,
          nextRunAt: next,
        })
        fired.push({
          task: row.task,
          key: row.key,
          slot: new Date(row.next_run_at),
          taskId: request?.id ?? null,
          nextRunAt: next,
        })
      }
      await writeRequests(trx, { store: this.#d.store }, requests)
      return fired
    })
  }

  /**
   * Moves schedules that earlier releases made with pg-boss's cron (pg-boss's cron no longer runs)
   * into tasklane's table, for the tasks registered here. Unusable rows are left where they are.
   */
  async adoptBossSchedules(): Promise<number> {
    const { db, store, registry, log } = this.#d
    let moved = 0
    await db.transaction().execute(async (trx) => {
      const rows = await store.legacySchedules(trx)
      const now = this.#d.clock?.() ?? (await databaseNow(trx))
      for (const row of rows) {
        if (!row.task || !registry.get(row.task)) continue
        try {
          const spec = parseCron(row.cron, row.timezone ?? 'UTC')
          const nextRunAt = nextRuns(spec, now, 1)[0] ?? NEVER
          await upsertSchedule(trx, {
            task: row.task,
            key: row.key,
            cron: spec.expression,
            tz: spec.tz,
            args: row.args,
            nextRunAt,
          })
          await store.dropLegacySchedule(trx, row)
          moved++
        } catch (err) {
          log.warn({ key: row.key, err: (err as Error).message }, 'pg-boss schedule left in place')
        }
      }
    })
    if (moved > 0) log.info({ moved }, "moved pg-boss schedules into tasklane's scheduler")
    return moved
  }
}
