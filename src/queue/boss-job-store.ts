import type { Kysely } from 'kysely'
import type pg from 'pg'
import type { Database } from '../db/database.ts'
import type { EnqueueRequest } from '../enqueue/enqueue-request.ts'
import { attemptsMade } from '../outcome/attempts.ts'
import { retryDelayMs } from '../tasks/retry-delay.ts'
import { bossPool, commandResult, fromKysely, type PgBoss } from './boss.ts'
import { errorOfOutput } from './boss-failure.ts'
import { type BossJobData, bossSqlEnqueue, toBossJob } from './boss-job.ts'
import { retryPolicyOfJob } from './boss-retry-policy.ts'
import { deleteBossSchedule, listBossSchedules } from './boss-schedule.repository.ts'
import {
  clearDeadLetter,
  exhaustRetries,
  findJob,
  handBack,
  jobStates,
  listJobs,
  queuePosition,
  setRetryStarts,
  terminalJobsWithoutHistory,
} from './job.repository.ts'
import { BossJobReads } from './job-reads.repository.ts'
import type {
  Claim,
  ClaimFence,
  FailedClaim,
  JobReads,
  JobStore,
  LegacySchedule,
  LiveJob,
  LiveJobFilter,
  SqlConnection,
  SqlEnqueueTarget,
  StartMark,
} from './job-store.ts'
import {
  findQueueTable,
  type LeaseRow,
  leaseJobs,
  markStarted,
  type QueueTable,
  recoverUnstartedClaims,
} from './lease.repository.ts'
import { LIVE_STATES, NOT_ENDED, toLiveJob } from './live-job.ts'
import { NamedStatements, namedAdapter, type SqlRows } from './named-statements.ts'
import {
  clearOwnerStamp,
  failDeadOwnerClaims,
  lockDeadOwnerClaims,
  unheldOwners,
} from './owner-lock.repository.ts'

export interface BossJobStoreDeps {
  /** pg-boss, started and stopped by the store (boss.ts createBoss). */
  boss: PgBoss
  /** tasklane's pool: start marks, hand-backs and recovery run on it. */
  db: Kysely<Database>
  /** The pool under `db`: inserts on the store's own connection (insert(null, …)) run on it, named. */
  pool?: pg.Pool
  /** Whether the insert and the lease may run as named statements (named-statements.ts); default: never. */
  named?: NamedStatements
  bossSchema: string
  /** The heartbeat timeout stamped on every job inserted (pg-boss counts it in whole seconds). */
  heartbeatSeconds: number
  /** tasklane's schema (task_history), for the reads that join it. */
  schema: string
  /** pg-boss's backend: its insert NOTIFYs unless it is CockroachDB. */
  dbBackend: string
}

/**
 * The JobStore over pg-boss's tables: pg-boss's API for what it does exactly (insert, complete, fail,
 * touch, cancel, retry), tasklane's own SQL on its tables where that is faster or more exact (lease,
 * start marks, hand-back, recovery), and every conversion between the two vocabularies.
 * @example const store = new BossJobStore({ boss: createBoss(…), db, bossSchema: 'pgboss', heartbeatSeconds: 30, schema: 'tasklane', dbBackend: 'postgres' })
 */
export class BossJobStore implements JobStore {
  readonly #d: BossJobStoreDeps
  /** Where pg-boss keeps each queue's jobs (its partition), once found. */
  readonly #tables = new Map<string, QueueTable>()
  readonly reads: JobReads
  readonly sqlEnqueue: SqlEnqueueTarget
  readonly #named: NamedStatements

  constructor(deps: BossJobStoreDeps) {
    this.#d = deps
    this.#named = deps.named ?? new NamedStatements(false)
    this.reads = new BossJobReads(deps.bossSchema)
    this.sqlEnqueue = bossSqlEnqueue(deps.bossSchema, deps.dbBackend !== 'cockroachdb', deps.heartbeatSeconds)
  }

  /** pg-boss itself, for tests and benchmarks that drive its own API beside tasklane's. */
  get boss(): PgBoss {
    return this.#d.boss
  }

  async start(queues: string[]): Promise<void> {
    const { boss } = this.#d
    await boss.start()
    const existing = new Set((await boss.getQueues()).map((q) => q.name))
    for (const name of queues) {
      if (existing.has(name)) continue
      // notify: pg-boss NOTIFYs once per insert statement with ready work, which is what wakes our runners.
      await boss.createQueue(name, { notify: true }).catch((err: Error) => {
        if (!/already exists/i.test(err.message)) throw err
      })
    }
  }

  async stop(): Promise<void> {
    await this.#d.boss.stop({ graceful: false, close: true }).catch(() => {})
  }

  async insert(db: SqlConnection | null, requests: EnqueueRequest[]): Promise<void> {
    const byQueue = Map.groupBy(requests, (r) => r.task.queue)
    const { pool } = this.#d
    // null: the store's own connection, each statement its own transaction, named where that is safe.
    const adapter = db ? fromKysely(db) : pool ? namedAdapter(pool, this.#named) : fromKysely(this.#d.db)
    for (const [queue, group] of byQueue) {
      await this.#d.boss.insert(
        queue,
        group.map((r) => toBossJob(r, this.#d.heartbeatSeconds)),
        { db: adapter },
      )
    }
  }

  async lease(queue: string, limit: number, startNow: number, owner: number | null = null): Promise<Claim[]> {
    const rows = await this.#leaseRows(queue, limit, startNow, owner)
    return rows.map((r) => toClaim(queue, r))
  }

  async #leaseRows(
    queue: string,
    limit: number,
    startNow: number,
    owner: number | null,
  ): Promise<LeaseRow[]> {
    const { boss, bossSchema } = this.#d
    let table = this.#tables.get(queue)
    if (!table) {
      table = (await findQueueTable(this.#bossSql, bossSchema, queue)) ?? undefined
      if (table) this.#tables.set(queue, table)
    }
    if (table?.policy === 'standard') {
      return leaseJobs(this.#bossSql, bossSchema, table, queue, limit, startNow, owner)
    }
    // A queue someone created with another pg-boss policy (singleton, stately, …): pg-boss's own
    // fetch applies its rules. It records every claim as started, so its buffered jobs read `running`.
    const fetched = await boss.fetch<BossJobData>(queue, { batchSize: limit, includeMetadata: true })
    return fetched.map((r) => ({
      id: r.id,
      data: r.data,
      priority: r.priority,
      retryCount: r.retryCount,
      retryLimit: r.retryLimit,
      retryDelay: r.retryDelay,
      retryBackoff: r.retryBackoff,
      retryDelayMax: r.retryDelayMax ?? null,
      createdOn: new Date(r.createdOn),
      createdUs: new Date(r.createdOn).getTime() * 1000,
      startAfter: new Date(r.startAfter),
      leasedAt: new Date(r.startedOn),
      started: true,
      heartbeatSeconds: r.heartbeatSeconds ?? null,
      deadLetter: r.deadLetter ?? null,
      sourceId: r.sourceId ?? null,
      sourceName: r.sourceName ?? null,
      lapseOutput: null,
    }))
  }

  /** tasklane's SQL on pg-boss's pool (its planner settings: boss.ts), named where that is safe. */
  readonly #bossSql = (text: string, values: unknown[]): Promise<SqlRows> => {
    const pool = bossPool(this.#d.boss)
    return pool ? this.#named.query(pool, text, values) : this.#d.boss.getDb().executeSql(text, values)
  }

  markStarted(queue: string, marks: StartMark[]): Promise<Set<string>> {
    const table = this.#tables.get(queue)?.table ?? 'job'
    return markStarted(this.#d.db, this.#d.bossSchema, table, queue, marks)
  }

  async touch(queue: string, claims: ClaimFence[]): Promise<Set<string> | null> {
    const response = commandResult(await this.#d.boss.touch(queue, claims))
    return response.settled ? new Set(response.settled) : null
  }

  handBack(queue: string, claims: ClaimFence[]): Promise<number> {
    return handBack(this.#d.db, this.#d.bossSchema, queue, claims)
  }

  recoverUnstarted(queues: string[]): Promise<{ requeued: number; charged: number }> {
    return recoverUnstartedClaims(this.#d.db, this.#d.bossSchema, queues)
  }

  unheldOwners(queues: string[], namespace: number): Promise<number[]> {
    return unheldOwners(this.#d.db, this.#d.bossSchema, queues, namespace)
  }

  failDeadOwnerClaims(queue: string, owners: number[], namespace: number): Promise<string[]> {
    const { db, boss, bossSchema } = this.#d
    return db.transaction().execute(async (trx) => {
      const claims = await lockDeadOwnerClaims(trx, bossSchema, queue, owners, namespace)
      const failed = new Set(await failDeadOwnerClaims(trx, boss, queue, claims))
      // A started claim spent its attempt: its retry waits the task's delay to the millisecond, as a
      // failed attempt's does (fail below). An unstarted one is put back at once (recoverUnstarted).
      const retries = claims
        .filter((c) => c.started && failed.has(c.id))
        .map((c) => ({
          id: c.id,
          delayMs: retryDelayMs(retryPolicyOfJob(c), attemptsMade(c.retryCount, true)),
        }))
      await setRetryStarts(trx, bossSchema, queue, retries)
      return [...failed]
    })
  }

  async complete(db: SqlConnection, queue: string, claims: ClaimFence[]): Promise<string[]> {
    const response = commandResult(await this.#d.boss.complete(queue, claims, null, { db: fromKysely(db) }))
    return response.settled ?? []
  }

  async fail(db: SqlConnection, queue: string, claim: FailedClaim): Promise<'retrying' | 'failed' | 'lost'> {
    const { boss, bossSchema } = this.#d
    if (!claim.retryable) await exhaustRetries(db, bossSchema, queue, claim.id)
    if (claim.clearDeadLetter) await clearDeadLetter(db, bossSchema, queue, claim.id)
    const fence = { id: claim.id, retryCount: claim.retryCount }
    const response = commandResult(
      await boss.fail(queue, [fence], { error: claim.error }, { db: fromKysely(db) }),
    )
    if (response.affected === 0) return 'lost'
    const [state] = await jobStates(db, bossSchema, queue, [claim.id])
    if (state?.state === 'retry') {
      // pg-boss computes the retry's start in whole seconds; the policy the user gave ('200ms') applies.
      await setRetryStarts(db, bossSchema, queue, [{ id: claim.id, delayMs: claim.retryDelayMs }])
      return 'retrying'
    }
    return state?.state === 'failed' ? 'failed' : 'retrying'
  }

  async dropCopies(db: SqlConnection, queue: string, copies: ClaimFence[]): Promise<number> {
    if (copies.length === 0) return 0
    const response = commandResult(await this.#d.boss.deleteJob(queue, copies, { db: fromKysely(db) }))
    return response.affected
  }

  async cancel(db: SqlConnection, queue: string, taskId: string): Promise<boolean> {
    const response = commandResult(await this.#d.boss.cancel(queue, taskId, { db: fromKysely(db) }))
    // pg-boss keeps output: a cancelled claim's owner stamp would come back with a resume.
    if (response.affected > 0) await clearOwnerStamp(db, this.#d.bossSchema, queue, taskId)
    return response.affected > 0
  }

  async rerun(db: SqlConnection, job: LiveJob): Promise<boolean> {
    const adapter = { db: fromKysely(db) }
    const response = commandResult(
      job.ended === 'failed'
        ? await this.#d.boss.retry(job.queue, job.id, adapter)
        : await this.#d.boss.resume(job.queue, job.id, adapter),
    )
    // A job cancelled while claimed before cancel cleared stamps may still carry one.
    if (response.affected > 0) await clearOwnerStamp(db, this.#d.bossSchema, job.queue, job.id)
    return response.affected > 0
  }

  async find(db: Kysely<Database>, queues: string[], taskId: string): Promise<LiveJob | null> {
    const row = await findJob(db, this.#d.bossSchema, queues, taskId)
    return row ? toLiveJob(row) : null
  }

  position(db: Kysely<Database>, job: LiveJob): Promise<number> {
    return queuePosition(db, this.#d.bossSchema, job)
  }

  async list(db: Kysely<Database>, f: LiveJobFilter): Promise<LiveJob[]> {
    const spec = f.status ? LIVE_STATES[f.status] : NOT_ENDED
    const rows = await listJobs(db, this.#d.bossSchema, {
      queues: f.queues,
      limit: f.limit,
      ...spec,
      ...(f.task ? { task: f.task } : {}),
      ...(f.after ? { after: f.after } : {}),
    })
    return rows.map(toLiveJob)
  }

  legacySchedules(db: SqlConnection): Promise<LegacySchedule[]> {
    return listBossSchedules(db, this.#d.bossSchema)
  }

  dropLegacySchedule(db: SqlConnection, s: Pick<LegacySchedule, 'queue' | 'key'>): Promise<void> {
    return deleteBossSchedule(db, this.#d.bossSchema, s.queue, s.key)
  }

  async endedWithoutHistory(db: Kysely<Database>, queues: string[], limit: number): Promise<LiveJob[]> {
    const rows = await terminalJobsWithoutHistory(db, this.#d.bossSchema, this.#d.schema, queues, limit)
    return rows.map(toLiveJob)
  }
}

/** A leased row in tasklane's terms: milliseconds, the task's own data, the copy it may be. */
function toClaim(queue: string, r: LeaseRow): Claim {
  return {
    id: r.id,
    // A job sent with pg-boss's own send() may carry any data: it names a task only as `{ task, args }`.
    task: typeof r.data?.task === 'string' ? r.data.task : '',
    args: r.data?.args ?? null,
    priority: r.priority,
    retryCount: r.retryCount,
    retryLimit: r.retryLimit,
    retry: retryPolicyOfJob(r),
    createdOn: r.createdOn,
    createdUs: r.createdUs,
    startAfter: r.startAfter,
    leasedAt: r.leasedAt,
    started: r.started,
    heartbeatMs: r.heartbeatSeconds ? r.heartbeatSeconds * 1000 : null,
    legacyDeadLetter: r.deadLetter ?? null,
    // A copy pg-boss made into this queue as another queue's dead letter (earlier versions).
    copyOf: r.sourceId && r.sourceName !== queue ? r.sourceId : null,
    traceContext: r.data?.trace,
    lostError: r.lapseOutput ? errorOfOutput(r.lapseOutput) : null,
  }
}
