import { type Kysely, sql } from 'kysely'
import type { Database } from '../db/database.ts'
import { withoutOwnerStamp } from './owner-lock.repository.ts'

/**
 * Reads of pg-boss's job table. pg-boss owns the table; tasklane only reads it here (all writes go
 * through pg-boss's API). `name` is the pg-boss queue, which is the tasklane queue.
 */
export interface JobRow {
  id: string
  queue: string
  priority: number
  data: { task: string; args: unknown } | null
  state: 'created' | 'retry' | 'active' | 'completed' | 'cancelled' | 'failed'
  retry_count: number
  retry_limit: number
  start_after: Date
  created_on: Date
  started_on: Date | null
  completed_on: Date | null
  output: unknown
  /** start_after is still in the future on the database clock. */
  deferred: boolean
}

const JOB_COLUMNS = sql`id, name as queue, priority, data, state, retry_count, retry_limit, start_after,
  created_on, started_on, completed_on, output, start_after > now() as deferred`

function jobTable(bossSchema: string) {
  return sql.table(`${bossSchema}.job`)
}

/** One job by id. `queues` bounds the lookup to the primary key (name, id) of known queues. */
export async function findJob(db: Kysely<Database>, bossSchema: string, queues: string[], id: string) {
  const { rows } = await sql<JobRow>`
    select ${JOB_COLUMNS} from ${jobTable(bossSchema)}
    where name = any(${queues}::text[]) and id = ${id}::uuid`.execute(db)
  return rows[0] ?? null
}

/**
 * How many queued tasks are ahead of a queued one in its queue, in lease order (priority desc,
 * created_on, id): the ready ones (a range count on pg-boss's fetch index job_i11) and those leased
 * into a worker's local buffer whose handlers have not started.
 */
export async function queuePosition(
  db: Kysely<Database>,
  bossSchema: string,
  job: { id: string; queue: string },
): Promise<number> {
  // The task's own key is read from the row: created_on to the microsecond (a Date has milliseconds).
  const ahead = sql`(j.priority > me.priority or (j.priority = me.priority
    and (j.created_on, j.id) < (me.created_on, me.id)))`
  const { rows } = await sql<{ n: string }>`
    with me as (
      select priority, created_on, id from ${jobTable(bossSchema)} where name = ${job.queue} and id = ${job.id}::uuid
    )
    select (select count(*) from ${jobTable(bossSchema)} j, me
        where j.name = ${job.queue} and j.state < 'active' and not j.blocked and j.start_after <= now() and ${ahead})
      + (select count(*) from ${jobTable(bossSchema)} j, me
        where j.name = ${job.queue} and j.state = 'active' and j.started_on is null and ${ahead}) as n`.execute(
    db,
  )
  return Number(rows[0]?.n ?? 0)
}

export interface LiveJobFilter {
  queues: string[]
  states: JobRow['state'][]
  task?: string
  /** Only tasks whose start_after is in the future (true), or due (false). */
  deferred?: boolean
  /**
   * Of the `active` jobs, only those whose handler started (true: running), or those still waiting
   * in a worker's local buffer (false: queued). Jobs in other states are not filtered by it.
   */
  started?: boolean
  limit: number
  /**
   * Keyset cursor: the listing key (created_on to the millisecond, id) of the last row of the
   * previous page, the instant as an ISO string.
   */
  after?: { createdAt: string; id: string }
}

/**
 * The listing key's time part: created_on to the millisecond. History keeps a task's creation time to
 * the millisecond (see insertHistory), so a task keeps the same key when it moves from pg-boss's table
 * to history, and a walk over both never meets it twice.
 */
const LIST_KEY = sql`date_trunc('milliseconds', created_on)`

/** Live jobs, newest created first, keyed on (created_on to the millisecond, id). */
export async function listJobs(
  db: Kysely<Database>,
  bossSchema: string,
  f: LiveJobFilter,
): Promise<JobRow[]> {
  const { rows } = await sql<JobRow>`
    select ${JOB_COLUMNS} from ${jobTable(bossSchema)}
    where name = any(${f.queues}::text[]) and state = any(${f.states}::text[]::${sql.raw(`${bossSchema}.job_state`)}[])
      ${f.task ? sql`and data->>'task' = ${f.task}` : sql``}
      ${f.deferred === true ? sql`and start_after > now()` : f.deferred === false ? sql`and start_after <= now()` : sql``}
      ${f.started === true ? sql`and (state <> 'active' or started_on is not null)` : f.started === false ? sql`and (state <> 'active' or started_on is null)` : sql``}
      ${f.after ? sql`and (${LIST_KEY}, id) < (${f.after.createdAt}::timestamptz, ${f.after.id}::uuid)` : sql``}
    order by ${LIST_KEY} desc, id desc
    limit ${f.limit}`.execute(db)
  return rows
}

/** Marks the given jobs' retry budget spent, so the next fail() is terminal (NonRetryableError). */
export async function exhaustRetries(db: Kysely<Database>, bossSchema: string, queue: string, id: string) {
  await sql`update ${jobTable(bossSchema)} set retry_limit = retry_count
    where name = ${queue} and id = ${id}::uuid and state = 'active'`.execute(db)
}

/**
 * Clears pg-boss's dead_letter on a job about to fail for good, so pg-boss does not copy it into the
 * dead-letter queue (where a worker would run it again): tasklane records the dead letter in history
 * instead. Only jobs enqueued with pg-boss's deadLetter (by earlier tasklane versions, or a caller's
 * own option) carry one.
 */
export async function clearDeadLetter(db: Kysely<Database>, bossSchema: string, queue: string, id: string) {
  await sql`update ${jobTable(bossSchema)} set dead_letter = null
    where name = ${queue} and id = ${id}::uuid and state = 'active'`.execute(db)
}

/**
 * Sets when jobs waiting to retry become ready: each `delayMs` after the database's now, to the
 * millisecond. pg-boss computes a retry's start in whole seconds; tasklane overrides it inside the
 * same transaction that failed the attempt, so the policy the user gave ('200ms') is the one that
 * applies. Jobs no longer waiting to retry (failed for good) are left alone.
 * @example await setRetryStarts(trx, 'pgboss', 'default', [{ id: '0193…', delayMs: 200 }])
 */
export async function setRetryStarts(
  db: Kysely<Database>,
  bossSchema: string,
  queue: string,
  starts: { id: string; delayMs: number }[],
): Promise<void> {
  if (starts.length === 0) return
  await sql`update ${jobTable(bossSchema)} j
    set start_after = ${sql.id(bossSchema, 'job_now')}() + s.delay_ms * interval '1 millisecond'
    from unnest(${starts.map((s) => s.id)}::uuid[], ${starts.map((s) => s.delayMs)}::int8[]) as s(id, delay_ms)
    where j.name = ${queue} and j.id = s.id and j.state = 'retry'`.execute(db)
}

/** Current state of jobs by id (inside a settle transaction, after pg-boss's fail()). */
export async function jobStates(db: Kysely<Database>, bossSchema: string, queue: string, ids: string[]) {
  const { rows } = await sql<{ id: string; state: JobRow['state']; start_after: Date }>`
    select id, state, start_after from ${jobTable(bossSchema)}
    where name = ${queue} and id = any(${ids}::uuid[])`.execute(db)
  return rows
}

/**
 * Jobs pg-boss failed terminally on its own (a lost heartbeat or an expiry on the last attempt)
 * that have no history row yet: the reconciler records them so every outcome lands in history.
 * A claim whose handler never started (started_on null) is not one: it is queued again
 * (lease.repository.ts recoverUnstartedClaims).
 */
export async function terminalJobsWithoutHistory(
  db: Kysely<Database>,
  bossSchema: string,
  schema: string,
  queues: string[],
  limit: number,
): Promise<JobRow[]> {
  const { rows } = await sql<JobRow>`
    select ${JOB_COLUMNS} from ${jobTable(bossSchema)} j
    where j.name = any(${queues}::text[]) and j.state = 'failed' and j.started_on is not null
      and j.completed_on > now() - interval '7 days'
      and not exists (select 1 from ${sql.table(`${schema}.task_history`)} h where h.task_id = j.id)
    limit ${limit}`.execute(db)
  return rows
}

/**
 * Hands leased jobs back to the queue without spending an attempt (graceful shutdown): clearing
 * started_on makes pg-boss's next claim keep retry_count as it is; the owner stamp goes (whoever claims
 * it next may not stamp it, and this process will be gone). Fenced on state and retry_count
 * so a job that was cancelled, or re-leased elsewhere, meanwhile is left alone.
 */
export async function handBack(
  db: Kysely<Database>,
  bossSchema: string,
  queue: string,
  jobs: { id: string; retryCount: number }[],
): Promise<number> {
  if (jobs.length === 0) return 0
  const result = await sql`
    update ${jobTable(bossSchema)}
    set state = 'created', started_on = null, heartbeat_on = null,
      output = ${sql.raw(withoutOwnerStamp('output'))}
    where name = ${queue} and id = any(${jobs.map((j) => j.id)}::uuid[]) and state = 'active'
      and (id::text || ':' || retry_count::text) = any(${jobs.map((j) => `${j.id}:${j.retryCount}`)}::text[])`.execute(
    db,
  )
  return Number(result.numAffectedRows ?? 0)
}
