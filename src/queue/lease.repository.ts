import { type Kysely, sql } from 'kysely'
import type { Database } from '../db/database.ts'
import type { BossJobData } from './boss-job.ts'
import type { SqlRows } from './named-statements.ts'
import { LEASED_BY, withoutOwnerStamp } from './owner-lock.repository.ts'

/**
 * tasklane's own lease, start mark and recovery statements on pg-boss's job table.
 *
 * A leased job is `active` in pg-boss's terms from the moment it is claimed, but tasklane calls a
 * task running only once its handler starts: a job waiting in a worker's local buffer (prefetch) is
 * still queued. The job's `started_on` carries that difference. The lease sets it only for the jobs
 * that go straight to a free slot; a buffered job keeps `started_on = NULL` until its handler starts
 * and {@link markStarted} records it. pg-boss's own rules then give the crash semantics wanted:
 * its next claim increments `retry_count` (spends an attempt) only when `started_on` is set, and its
 * expiry clock (`started_on + expire_seconds`) starts with the handler, not with the lease.
 */

/** The columns of a leased job, as the lease returns them. */
export interface LeaseRow {
  id: string
  data: BossJobData | null
  priority: number
  retryCount: number
  retryLimit: number
  retryDelay: number
  retryBackoff: boolean
  retryDelayMax: number | null
  createdOn: Date
  /** created_on in microseconds since the epoch: the lease order's own precision. */
  createdUs: number
  startAfter: Date
  /** The database's clock at the lease (pg-boss's job_now()). */
  leasedAt: Date
  /** started_on was set by the lease: this job goes to a slot at once. */
  started: boolean
  heartbeatSeconds: number | null
  deadLetter: string | null
  sourceId: string | null
  sourceName: string | null
  /**
   * The failure pg-boss's own shape records when the store failed this job's previous claim on its
   * own (a lapsed heartbeat, a dead owner: `{ value: { message } }`, read by boss-failure.ts); null
   * otherwise.
   */
  lapseOutput: unknown
}

/** Runs a statement on pg-boss's pool (boss-job-store.ts: named there where that is safe). */
export type BossSql = (text: string, values: unknown[]) => Promise<SqlRows>

/** The queue's physical table and policy (pg-boss partitions some queues into tables of their own). */
export interface QueueTable {
  table: string
  policy: string
}

/** Looks up where pg-boss keeps a queue's jobs. Null when the queue does not exist (yet). */
export async function findQueueTable(
  run: BossSql,
  bossSchema: string,
  queue: string,
): Promise<QueueTable | null> {
  const { rows } = await run(
    `select table_name as "table", policy from ${ident(bossSchema)}.queue where name = $1`,
    [queue],
  )
  const row = rows[0] as QueueTable | undefined
  return row ?? null
}

/**
 * Claims up to `limit` ready jobs of a standard-policy queue in lease order, and records the first
 * `startNow` of them as started (their handlers start at once; the others wait in the local buffer).
 * With an `owner` (the process's owner-lock key, owner-lock.repository.ts), each claim is stamped with
 * it, so that the claims of a process whose connection closed come back at once.
 *
 * The order is pg-boss's (priority desc, created_on) plus the job id: jobs added in one transaction
 * share created_on, and tasklane's ids are time-ordered (UUIDv7), so ties are leased in the order
 * they were added. pg-boss's own fetch stops at created_on and leaves ties to the heap's order. The
 * plan stays the walk of pg-boss's fetch index job_i11 (name, priority desc, created_on, …), with
 * an Incremental Sort that orders each run of equal (priority, created_on) by id; runs on pg-boss's
 * pool, whose planner settings (boss.ts) keep that plan on a queue whose statistics are stale.
 * The claims come back in no particular order (the caller sorts them: worker/job-lease.ts).
 *
 * `retry_count` is incremented as pg-boss's fetch does it: only if the previous claim had started.
 * @example const rows = await leaseJobs(run, 'pgboss', { table: 'job_common', policy: 'standard' }, 'default', 50, 10)
 */
export async function leaseJobs(
  run: BossSql,
  bossSchema: string,
  where: QueueTable,
  queue: string,
  limit: number,
  startNow: number,
  owner: number | null = null,
): Promise<LeaseRow[]> {
  const { rows } = await run(leaseStatement(bossSchema, where.table), [queue, limit, startNow, owner])
  return (rows as RawLeaseRow[]).map((r) => ({
    id: r.id,
    data: typeof r.data === 'string' ? JSON.parse(r.data) : r.data,
    priority: r.priority,
    retryCount: r.retry_count,
    retryLimit: r.retry_limit,
    retryDelay: r.retry_delay,
    retryBackoff: r.retry_backoff,
    retryDelayMax: r.retry_delay_max,
    createdOn: new Date(r.created_on),
    createdUs: Number(r.created_us),
    startAfter: new Date(r.start_after),
    leasedAt: new Date(r.leased_at),
    started: r.started,
    heartbeatSeconds: r.heartbeat_seconds,
    deadLetter: r.dead_letter,
    sourceId: r.source_id,
    sourceName: r.source_name,
    lapseOutput: r.lapse_output,
  }))
}

interface RawLeaseRow {
  id: string
  data: BossJobData | string | null
  priority: number
  retry_count: number
  retry_limit: number
  retry_delay: number
  retry_backoff: boolean
  retry_delay_max: number | null
  created_on: Date | string
  created_us: string
  start_after: Date | string
  leased_at: Date | string
  started: boolean
  heartbeat_seconds: number | null
  dead_letter: string | null
  source_id: string | null
  source_name: string | null
  lapse_output: unknown
}

const leaseStatements = new Map<string, string>()

/**
 * The lease statement for a queue table ($1 queue, $2 limit, $3 how many start now, $4 the owner-lock
 * key to stamp, or null); exported for profiling.
 */
export function leaseStatement(bossSchema: string, table: string): string {
  const key = `${bossSchema}.${table}`
  let text = leaseStatements.get(key)
  if (text) return text
  const t = `${ident(bossSchema)}.${ident(table)}`
  const now = `${ident(bossSchema)}.job_now()`
  // `next` locks the rows in lease order. The UPDATE then finds them by their ctid (a TID scan,
  // stable: the rows stay locked by this statement). Joined to `next` by id instead, the planner
  // hashed the whole queue table once more than a few dozen rows were leased (a seq scan of the
  // backlog per lease: 7 ms at 24k jobs); by `id = any(…)`, on an empty table's statistics it walked
  // every job of the queue on (name, created_on). The first `$3` ids of `next` (the CTE keeps its
  // order) start at once. Nothing here sorts: on pg-boss's pool sorts are disabled (boss.ts), and the
  // cost a sort adds crosses jit_above_cost (JIT then cost ~500 ms per lease: profile/lease-order.ts).
  // The rows come back in no particular order; the caller orders them (worker/job-lease.ts).
  // `next` is materialized (it is read twice, and both reads must see the same locked rows).
  text = `
    with next as materialized (
      select j.id, j.ctid
      from ${t} j
      where j.name = $1 and j.state < 'active' and not j.blocked and j.start_after <= ${now}
      order by j.priority desc, j.created_on, j.id
      limit $2
      for update of j skip locked
    )
    update ${t} j set
      state = 'active',
      started_on = case when j.id = any(array(select id from next limit $3)) then ${now} end,
      heartbeat_on = ${now},
      retry_count = case when j.started_on is not null then j.retry_count + 1 else j.retry_count end,
      -- The claim's owner: the tuple is rewritten anyway; pg-boss's complete and fail replace output.
      -- Unowned, a stamp left by an earlier claim is dropped: it would name a process that may be gone.
      output = case when $4::int is null then ${withoutOwnerStamp('j.output')}
        else coalesce(j.output, '{}'::jsonb) || jsonb_build_object('${LEASED_BY}', $4::int) end
    where j.ctid = any(array(select ctid from next)) and j.name = $1
    returning j.id, j.data, j.priority, j.retry_count, j.retry_limit, j.retry_delay,
      j.retry_backoff, j.retry_delay_max, j.created_on,
      (extract(epoch from j.created_on) * 1000000)::int8::text as created_us,
      j.start_after, ${now} as leased_at, j.started_on is not null as started,
      j.heartbeat_seconds, j.dead_letter, j.source_id, j.source_name,
      case when j.output ? 'value' then j.output end as lapse_output`
  leaseStatements.set(key, text)
  return text
}

/** A buffered job whose handler started: the claim's fence and the instant (database clock). */
export interface StartMark {
  id: string
  retryCount: number
  startedAt: Date
}

/**
 * Records that the handlers of buffered jobs started: sets `started_on`, fenced to the claim (state
 * active, the claimed retry_count). Returns the ids recorded; a job missing from the answer is no
 * longer this claim's (cancelled, or reclaimed after its heartbeat lapsed). Idempotent: a mark that
 * is sent again after its first answer was lost finds its own instant and counts as recorded.
 * Ids are sorted so that rows are locked in the order pg-boss's own `id = any(…)` statements
 * (complete, touch) lock them.
 */
export async function markStarted(
  db: Kysely<Database>,
  bossSchema: string,
  table: string,
  queue: string,
  marks: StartMark[],
): Promise<Set<string>> {
  if (marks.length === 0) return new Set()
  const sorted = [...marks].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  const { rows } = await sql<{ id: string }>`
    update ${sql.table(`${bossSchema}.${table}`)} j
    set started_on = m.started_at
    from unnest(${sorted.map((m) => m.id)}::uuid[], ${sorted.map((m) => m.retryCount)}::int[],
      ${sorted.map((m) => m.startedAt.toISOString())}::timestamptz[]) as m(id, retry_count, started_at)
    where j.name = ${queue} and j.id = m.id and j.state = 'active' and j.retry_count = m.retry_count
      and (j.started_on is null or j.started_on = m.started_at)
    returning j.id`.execute(db)
  return new Set(rows.map((r) => r.id))
}

/**
 * How many times a claim that never recorded a start may come back without spending an attempt.
 * A start is recorded a few milliseconds after the handler starts, so a task that kills its own
 * process (process.exit, a native crash, running out of memory) sooner than that looks like one that
 * never started; past this many such recoveries its attempts are spent as usual, so it cannot loop.
 */
export const MAX_UNSTARTED_RECOVERIES = 3

/**
 * Puts back claims whose worker died before their handlers started (a buffered job of a killed
 * process). pg-boss's monitor fails a claim whose heartbeat lapsed: as `retry` (after the retry
 * delay) or, on the last attempt, as `failed` for good. For a claim whose start was never recorded
 * neither is right: no attempt ran. This makes such a job queued again at once, with its attempt
 * unspent, and counts the recovery in its data (`unstartedLapses`); once that count reaches
 * {@link MAX_UNSTARTED_RECOVERIES}, the job is left as pg-boss failed it, with `started_on` set so
 * that the attempt counts (the reconciler records a final one; the next claim increments a retry).
 * Only pg-boss's own failures are considered (their output is `{ value: { message } }`; a failure
 * tasklane recorded carries `{ error }` and its history). Reads pg-boss's live-state index job_i14
 * (name, state, … WHERE created/retry/active/failed).
 * @returns how many claims were put back, and how many were charged an attempt.
 */
export async function recoverUnstartedClaims(
  db: Kysely<Database>,
  bossSchema: string,
  queues: string[],
): Promise<{ requeued: number; charged: number }> {
  if (queues.length === 0) return { requeued: 0, charged: 0 }
  const job = sql.table(`${bossSchema}.job`)
  const now = sql.raw(`${ident(bossSchema)}.job_now()`)
  const { rows } = await sql<{ requeued: boolean }>`
    with lapsed as (
      select id, name, coalesce((data->>'unstartedLapses')::int, 0) as lapses
      from ${job}
      where name = any(${queues}::text[]) and state in ('retry', 'failed') and started_on is null
        and output ? 'value'
      for update skip locked
    )
    update ${job} j set
      state = case when l.lapses < ${MAX_UNSTARTED_RECOVERIES} then 'created' else j.state::text end::${sql.raw(`${ident(bossSchema)}.job_state`)},
      start_after = case when l.lapses < ${MAX_UNSTARTED_RECOVERIES} and j.state = 'retry' then ${now}
        else j.start_after end,
      completed_on = case when l.lapses < ${MAX_UNSTARTED_RECOVERIES} then null else j.completed_on end,
      output = case when l.lapses < ${MAX_UNSTARTED_RECOVERIES} then null else j.output end,
      started_on = case when l.lapses < ${MAX_UNSTARTED_RECOVERIES} then null else ${now} end,
      data = jsonb_set(coalesce(j.data, '{}'::jsonb), '{unstartedLapses}', to_jsonb(l.lapses + 1))
    from lapsed l
    where j.name = l.name and j.id = l.id
    returning l.lapses < ${MAX_UNSTARTED_RECOVERIES} as requeued`.execute(db)
  const requeued = rows.filter((r) => r.requeued).length
  return { requeued, charged: rows.length - requeued }
}

function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`
}
