import type { Kysely, RawBuilder } from 'kysely'
import type { Database } from '../db/database.ts'
import type { EnqueueRequest } from '../enqueue/enqueue-request.ts'
import type { TaskStatus } from '../events/event-types.ts'
import type { RetryPolicy, TaskDefinition } from '../tasks/define-task.ts'
import type { TraceCarrier } from '../telemetry/trace-context.ts'
import type { ErrorInfo } from '../worker/error-info.ts'

/**
 * A connection or transaction of any Kysely database: tasklane's, or the caller's own (the job then
 * commits or rolls back with the caller's transaction).
 */
// biome-ignore lint/suspicious/noExplicitAny: the caller's database type is the caller's
export type SqlConnection = Kysely<any>

/**
 * The one port between tasklane and the store of queued jobs (pg-boss's tables: boss-job-store.ts).
 * Everything above queue/ speaks these types: task ids, tasklane's priority rank (tasks/priority.ts),
 * milliseconds, tasklane's statuses. pg-boss's API, tables, state names and seconds stay behind it.
 *
 * Methods that take `db` run on that connection or transaction (the caller's, a settle transaction),
 * so what they write commits or rolls back with it; the others use the store's own connections.
 */
export interface JobStore {
  /** Opens the store's connections and makes sure every queue of `queues` exists. */
  start(queues: string[]): Promise<void>
  /** Closes what start() opened; safe to call twice or before start(). */
  stop(): Promise<void>

  /**
   * Inserts new jobs, one statement per queue (each wakes that queue's workers once committed).
   * `db` null: on the store's own connections, each statement its own transaction (group commit).
   */
  insert(db: SqlConnection | null, requests: EnqueueRequest[]): Promise<void>

  /**
   * Claims up to `limit` ready jobs of `queue` in lease order (priority, creation, insertion) and
   * records the first `startNow` as started; the others wait in the caller's buffer, still queued.
   * `owner`: the process's owner-lock key, stamped on each claim (owner-lock.repository.ts).
   */
  lease(queue: string, limit: number, startNow: number, owner?: number | null): Promise<Claim[]>
  /** Records that buffered claims' handlers started. Returns the ids recorded (the others are lost). */
  markStarted(queue: string, marks: StartMark[]): Promise<Set<string>>
  /** Keeps claims alive. Returns the ids still held, or null when the store cannot say. */
  touch(queue: string, claims: ClaimFence[]): Promise<Set<string> | null>
  /** Puts claims back in the queue without spending an attempt (graceful shutdown). Returns how many. */
  handBack(queue: string, claims: ClaimFence[]): Promise<number>
  /** Puts back claims whose process died before their handlers started (any process's). */
  recoverUnstarted(queues: string[]): Promise<{ requeued: number; charged: number }>
  /** Owner-lock keys of active claims on `queues` whose lock no session holds (namespace: the app's). */
  unheldOwners(queues: string[], namespace: number): Promise<number[]>
  /**
   * Fails the active claims of `queue` whose owners are dead, as a lapsed heartbeat fails them
   * (checked again under the row locks), in one transaction: a started claim spends its attempt and
   * waits its retry delay to the millisecond; an unstarted one is left for recoverUnstarted to put
   * back unspent. Returns the ids failed.
   */
  failDeadOwnerClaims(queue: string, owners: number[], namespace: number): Promise<string[]>

  /**
   * Settles claims as completed, fenced to the attempt. Returns the ids settled, each once: a claim
   * missing from it was cancelled, re-leased or already settled.
   */
  complete(db: SqlConnection, queue: string, claims: ClaimFence[]): Promise<string[]>
  /**
   * Settles a claim as failed, fenced to the attempt: retried after `retryDelayMs` while attempts
   * remain and the error is retryable, failed for good otherwise. 'lost' when the claim had lapsed.
   */
  fail(db: SqlConnection, queue: string, claim: FailedClaim): Promise<'retrying' | 'failed' | 'lost'>
  /** Deletes dead-letter copies an earlier version let pg-boss make (fenced). Returns how many. */
  dropCopies(db: SqlConnection, queue: string, copies: ClaimFence[]): Promise<number>

  /** Cancels a waiting, retrying or claimed job. False when it had ended meanwhile. */
  cancel(db: SqlConnection, queue: string, taskId: string): Promise<boolean>
  /** Queues a failed or cancelled job again (one more attempt). False when it changed meanwhile. */
  rerun(db: SqlConnection, job: LiveJob): Promise<boolean>

  /** One job by id, among `queues`; null when the store no longer has it. */
  find(db: Kysely<Database>, queues: string[], taskId: string): Promise<LiveJob | null>
  /** How many queued tasks are ahead of `job` in its queue, in lease order. */
  position(db: Kysely<Database>, job: LiveJob): Promise<number>
  /** Live jobs with a status, newest created first, keyset-paginated. */
  list(db: Kysely<Database>, filter: LiveJobFilter): Promise<LiveJob[]>
  /** Jobs the store failed for good on its own (a lost worker) that tasklane's history lacks. */
  endedWithoutHistory(db: Kysely<Database>, queues: string[], limit: number): Promise<LiveJob[]>
  /** Schedules an earlier release kept in the store's own cron (to be moved into tasklane's). */
  legacySchedules(db: SqlConnection): Promise<LegacySchedule[]>
  /** Deletes one of those once moved. */
  dropLegacySchedule(db: SqlConnection, schedule: Pick<LegacySchedule, 'queue' | 'key'>): Promise<void>
  /** What the SQL API (`<schema>.add_task`, migration 0004) needs to insert into the store. */
  readonly sqlEnqueue: SqlEnqueueTarget
  /** Reads of the live jobs for statistics (SQL fragments and counts: job-reads.repository.ts). */
  readonly reads: JobReads
}

/** The store's side of the SQL API's settings: where and how add_task inserts a job. */
export interface SqlEnqueueTarget {
  /** Merged into the SQL API's setting row 'enqueue' (keys the add_task function reads). */
  setting: Record<string, unknown>
  /** The store's job options for `task` (everything but id, data, priority and start). */
  jobOptions(task: TaskDefinition<unknown, unknown>): unknown
}

/** A cron schedule an earlier release kept in the store (pg-boss's cron). */
export interface LegacySchedule {
  queue: string
  key: string
  cron: string
  timezone: string | null
  /** The task it enqueues, or null when it names none (one tasklane did not make). */
  task: string | null
  args: unknown
}

/** A claim's fence: the task id and the attempt counter its lease returned. */
export interface ClaimFence {
  id: string
  retryCount: number
}

/** A claimed job, in tasklane's terms. */
export interface Claim {
  id: string
  /**
   * The task it runs; '' when the job names none (its data is not `{ task, args }`: a job another
   * client of the store inserted, such as pg-boss's own send()).
   */
  task: string
  args: unknown
  /** tasklane's priority rank (tasks/priority.ts): higher runs first. */
  priority: number
  /** The store's retry counter at claim time: it names this attempt and fences every settle of it. */
  retryCount: number
  retryLimit: number
  retry: Pick<RetryPolicy, 'delayMs' | 'backoff' | 'maxDelayMs'>
  createdOn: Date
  /** Creation in microseconds since the epoch: the lease order's own precision. */
  createdUs: number
  startAfter: Date
  /** The database clock at the lease. */
  leasedAt: Date
  /** The lease recorded this attempt as started (it goes to a slot at once). */
  started: boolean
  /** The heartbeat timeout the enqueuer stamped on the job: touch it within this. */
  heartbeatMs: number | null
  /** A dead-letter queue stamped on the job by an earlier version (cleared when it fails). */
  legacyDeadLetter: string | null
  /** Set when this job is a dead-letter copy of another queue's task: that task's id. */
  copyOf: string | null
  traceContext?: TraceCarrier | undefined
  /**
   * Why the store failed this task's previous attempt on its own, when it did: a WorkerLost record
   * saying whether its heartbeat lapsed or its process ended (its owner lock was released). Null
   * when the previous attempt (if any) ended another way.
   */
  lostError: ErrorInfo | null
}

/** A buffered claim whose handler started: the fence and the instant (database clock). */
export interface StartMark extends ClaimFence {
  startedAt: Date
}

/** A failed attempt's claim, as fail() settles it. */
export interface FailedClaim extends ClaimFence {
  /** The error record, stored with the job (LiveJob.error reads it back). */
  error: ErrorInfo
  /** False: no further attempt, whatever the retry budget. */
  retryable: boolean
  /** Delay before the next attempt, when there is one. */
  retryDelayMs: number
  /** The claim carries a legacy dead-letter queue (Claim.legacyDeadLetter): clear it. */
  clearDeadLetter: boolean
}

/** A live task's status as the store's row says it (tasklane's words). */
export type LiveStatus = TaskStatus

/** A job the store holds, in tasklane's terms. */
export interface LiveJob {
  id: string
  queue: string
  task: string | null
  args: unknown
  /** tasklane's priority rank (tasks/priority.ts). */
  priority: number
  status: LiveStatus
  /** How the store ended the job, or null while it waits, retries or is claimed. */
  ended: 'completed' | 'failed' | 'cancelled' | null
  /** Waiting out a retry delay (status 'retrying', or 'queued' while it awaits recovery). */
  awaitingRetry: boolean
  retryCount: number
  retryLimit: number
  /** When the current (or last) attempt's handler started; null when none is recorded. */
  startedAt: Date | null
  createdOn: Date
  startAfter: Date
  completedOn: Date | null
  /**
   * The error of its last failed attempt, as tasklane records errors: the record tasklane's fail
   * stored, or a `WorkerLost` one when the store failed it on its own (a lapsed heartbeat, an expiry).
   * Null when there is none (never for a completed job).
   */
  error: ErrorInfo | null
}

export interface LiveJobFilter {
  queues: string[]
  /** Live statuses wanted; default every one that has not ended. */
  status?: 'scheduled' | 'queued' | 'running' | 'retrying'
  task?: string
  limit: number
  /**
   * Keyset cursor: the listing key (creation to the millisecond, id) of the last row of the previous
   * page, the instant as an ISO string.
   */
  after?: { createdAt: string; id: string }
}

/** Counts of live tasks by priority rank, as statistics read them. */
export interface PriorityCounts {
  /** Ready tasks by priority rank: waiting to be leased, or leased into a buffer, not started. */
  ready: Map<number, number>
  /** Tasks whose start is in the future: delayed, scheduled, or waiting out a retry backoff. */
  deferred: number
  /** Tasks whose handlers are running. */
  active: number
}

/** Per-queue live counts (ready, deferred, active) by priority rank. */
export interface QueueCounts {
  queue: string
  priority: number
  ready: number
  deferred: number
  active: number
}

/** Statistics' reads of the live jobs (job-reads.repository.ts). */
export interface JobReads {
  /** Live counts over `queues` by priority rank. */
  countByPriority(db: Kysely<Database>, queues: string[]): Promise<PriorityCounts>
  /** Live counts per queue and priority rank. */
  countByQueue(db: Kysely<Database>, queues: string[]): Promise<QueueCounts[]>
  /**
   * A one-row subquery `busy_s`: seconds running handlers of `queues` spent since `from` (an SQL
   * instant), for statements that sum busy time across history and live jobs.
   */
  runningBusySeconds(queues: string[], from: RawBuilder<unknown>): RawBuilder<unknown>
  /**
   * A relation `(id, queue, dead_letter)` of jobs that still carry a legacy dead-letter queue, for
   * joining history rows written before tasklane recorded dead letters itself.
   */
  legacyDeadLetters(): RawBuilder<unknown>
}
