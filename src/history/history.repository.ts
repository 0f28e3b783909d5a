import { type Kysely, type Selectable, sql } from 'kysely'
import type { AttemptOutcome, Database, TaskAttemptTable, TaskHistoryTable } from '../db/database.ts'
import { table } from '../stats/sql-parts.ts'
import type { ErrorInfo } from '../worker/error-info.ts'

export type HistoryStatus = TaskHistoryTable['status']

export interface HistoryInsert {
  taskId: string
  task: string
  queue: string
  priority: number
  status: HistoryStatus
  args: unknown
  result?: unknown
  error?: unknown
  attempts: number
  maxAttempts: number
  createdAt: Date
  startAfter: Date
  startedAt: Date | null
  finishedAt: Date
  workerId?: string | null
  cpuMs?: number | null
  peakMemoryMb?: number | null
  /** A failed task parked for its dead-letter queue: that queue's name (docs/reliability.md). */
  deadLetter?: string | null
}

/** A row of tasklane.task_history as read. */
export type HistoryRow = Selectable<TaskHistoryTable>

/** A row of tasklane.task_attempt as read. */
export type AttemptRow = Selectable<TaskAttemptTable>

const json = (v: unknown) => (v === undefined ? null : JSON.stringify(v))

const later = (a: Date, b: Date): Date => (a.getTime() > b.getTime() ? a : b)

function ms(from: Date | null, to: Date | null): number | null {
  return from && to ? Math.max(0, Math.round(to.getTime() - from.getTime())) : null
}

/**
 * Records finished tasks. Called inside the transaction that settles them in pg-boss; ON CONFLICT
 * keeps a replayed settle from recording an outcome twice. The rows travel as one JSON parameter:
 * a 500-row batch as 19 × 500 bind parameters cost more to build and parse than the insert itself.
 */
export async function insertHistory(db: Kysely<Database>, rows: HistoryInsert[]): Promise<void> {
  if (rows.length === 0) return
  const payload = rows.map(historyRecord)
  const columns = Object.keys(HISTORY_RECORD) as (keyof typeof HISTORY_RECORD)[]
  const definition = sql.raw(columns.map((c) => `${c} ${HISTORY_RECORD[c]}`).join(', '))
  // created_at is kept to the millisecond: it is half of the listing key (listHistory, listJobs), and
  // a task must keep its key when it moves from pg-boss's table (microseconds) to history.
  const selected = columns.map((c) =>
    c === 'created_at' ? sql`date_trunc('milliseconds', created_at)` : sql.id(c),
  )
  await db
    .insertInto('task_history')
    .columns(columns)
    .expression(
      sql`select ${sql.join(selected)} from jsonb_to_recordset(${JSON.stringify(payload)}::jsonb) as x(${definition})`,
    )
    // The primary key holds the partition keys (migration 0003_b): a replayed settle writes the same
    // (task_id, finished_at, status) and is still a no-op.
    .onConflict((oc) => oc.columns(['task_id', 'finished_at', 'status']).doNothing())
    .execute()
}

/**
 * An instant as JSON.stringify writes a Date (null when invalid), called directly: stringify reaches
 * it through Date#toJSON, a generic lookup and call that cost a third of a row's stringify time.
 */
const iso = (d: Date): string | null => (Number.isNaN(d.getTime()) ? null : d.toISOString())

/**
 * One row as jsonb_to_recordset reads it. A null column is left out (a missing key reads as null):
 * a completion has five or six, and every byte saved is one the worker need not stringify and send
 * and the database need not parse, at hundreds of rows per settle.
 */
function historyRecord(r: HistoryInsert): Record<string, unknown> {
  const row: Record<string, unknown> = {
    task_id: r.taskId,
    task: r.task,
    queue: r.queue,
    priority: r.priority,
    status: r.status,
    attempts: r.attempts,
    max_attempts: r.maxAttempts,
    created_at: iso(r.createdAt),
    start_after: iso(r.startAfter),
    finished_at: iso(r.finishedAt),
  }
  if (r.args != null) row.args = r.args
  if (r.result != null) row.result = r.result
  if (r.error != null) row.error = r.error
  if (r.startedAt) {
    row.started_at = iso(r.startedAt)
    // wait counts from when the task could first run (its start_after), not from enqueue.
    row.wait_ms = ms(later(r.startAfter, r.createdAt), r.startedAt)
    row.duration_ms = ms(r.startedAt, r.finishedAt)
  }
  if (r.workerId != null) row.worker_id = r.workerId
  if (r.cpuMs != null) row.cpu_ms = r.cpuMs
  if (r.peakMemoryMb != null) row.peak_memory_mb = r.peakMemoryMb
  if (r.deadLetter != null) row.dead_letter = r.deadLetter
  return row
}

// Column types of task_history, for reading a JSON batch of rows (jsonb_to_recordset).
const HISTORY_RECORD = {
  task_id: 'uuid',
  task: 'text',
  queue: 'text',
  priority: 'integer',
  status: 'text',
  args: 'jsonb',
  result: 'jsonb',
  error: 'jsonb',
  attempts: 'integer',
  max_attempts: 'integer',
  created_at: 'timestamptz',
  start_after: 'timestamptz',
  started_at: 'timestamptz',
  finished_at: 'timestamptz',
  wait_ms: 'integer',
  duration_ms: 'integer',
  worker_id: 'text',
  cpu_ms: 'real',
  peak_memory_mb: 'real',
  dead_letter: 'text',
} as const

export async function findHistory(db: Kysely<Database>, taskId: string): Promise<HistoryRow | null> {
  const row = await db.selectFrom('task_history').selectAll().where('task_id', '=', taskId).executeTakeFirst()
  return row ?? null
}

/** A retried task is live again: its previous outcome leaves history (its failed attempts stay). */
export async function deleteHistory(db: Kysely<Database>, taskId: string): Promise<void> {
  await db.deleteFrom('task_history').where('task_id', '=', taskId).execute()
}

export interface HistoryFilter {
  statuses: HistoryStatus[]
  task?: string
  queue?: string
  /** Only failed tasks parked for a dead-letter queue (index task_history_dead_letter_created_at). */
  deadLettered?: boolean
  limit: number
  /** Keyset cursor: (created_at, task_id) of the last row of the previous page, the instant as ISO. */
  after?: { createdAt: string; taskId: string }
}

/**
 * Finished tasks, newest created first, keyset-paginated on (created_at, task_id): the same key live
 * tasks are listed by (listJobs), so one walk can merge both (index task_history_created_at).
 */
export async function listHistory(db: Kysely<Database>, f: HistoryFilter): Promise<HistoryRow[]> {
  let q = db.selectFrom('task_history').selectAll().where('status', 'in', f.statuses)
  if (f.task) q = q.where('task', '=', f.task)
  if (f.queue) q = q.where('queue', '=', f.queue)
  if (f.deadLettered) q = q.where('dead_letter', 'is not', null)
  if (f.after) {
    const { createdAt, taskId } = f.after
    q = q.where(sql<boolean>`(created_at, task_id) < (${createdAt}::timestamptz, ${taskId}::uuid)`)
  }
  return q.orderBy('created_at', 'desc').orderBy('task_id', 'desc').limit(f.limit).execute()
}

export interface AttemptInsert {
  taskId: string
  attempt: number
  task: string
  queue: string
  outcome: AttemptOutcome
  error: unknown
  startedAt: Date | null
  finishedAt: Date
  workerId: string | null
}

/** Records failed attempts (the final failure too, so every attempt of a task is listed). */
export async function insertAttempts(db: Kysely<Database>, rows: AttemptInsert[]): Promise<void> {
  if (rows.length === 0) return
  await db
    .insertInto('task_attempt')
    .values(
      rows.map((r) => ({
        task_id: r.taskId,
        attempt: r.attempt,
        task: r.task,
        queue: r.queue,
        outcome: r.outcome,
        error: json(r.error),
        started_at: r.startedAt,
        finished_at: r.finishedAt,
        duration_ms: ms(r.startedAt, r.finishedAt),
        worker_id: r.workerId,
      })),
    )
    .onConflict((oc) => oc.columns(['task_id', 'attempt', 'finished_at']).doNothing())
    .execute()
}

/** A task's recorded attempts (failed, timed out or lost), first attempt first. */
export async function listAttempts(db: Kysely<Database>, taskId: string): Promise<AttemptRow[]> {
  return db.selectFrom('task_attempt').selectAll().where('task_id', '=', taskId).orderBy('attempt').execute()
}

/** Mean run time of the last `sample` completions in a queue (null without any): the basis of ETAs. */
export async function recentMeanDurationMs(
  db: Kysely<Database>,
  queue: string,
  sample = 100,
): Promise<number | null> {
  const row = await db
    .selectFrom((eb) =>
      eb
        .selectFrom('task_history')
        .select('duration_ms')
        .where('queue', '=', queue)
        .where('status', '=', 'completed')
        .orderBy('finished_at', 'desc')
        .limit(sample)
        .as('recent'),
    )
    .select(sql<number | null>`avg(duration_ms)`.as('mean'))
    .executeTakeFirst()
  return row?.mean === null || row?.mean === undefined ? null : Number(row.mean)
}

/**
 * Records attempts that left no row because their worker died mid-attempt (pg-boss re-queued the task
 * after its heartbeat lapsed, or a live worker failed it once its owner lock was released): every
 * attempt below `before` that has no row gets one with outcome 'lost'. The attempt just before
 * `before` gets `error` when given (what the store recorded: which of the two detectors failed it);
 * others get a generic worker-lost record. Called when such a task is leased again, and when pg-boss
 * fails it for good.
 */
export async function recordLostAttempts(
  db: Kysely<Database>,
  tasks: { taskId: string; task: string; queue: string; before: number; error?: ErrorInfo | null }[],
): Promise<void> {
  const relevant = tasks.filter((t) => t.before > 1)
  if (relevant.length === 0) return
  const lost = {
    type: 'WorkerLost',
    message: 'worker lost: its process stopped heartbeating during this attempt',
    retryable: true,
  }
  await db
    .insertInto('task_attempt')
    .columns(['task_id', 'attempt', 'task', 'queue', 'outcome', 'error', 'finished_at'])
    .expression(
      sql`select x.task_id, n, x.task, x.queue, 'lost',
            case when n = x.before - 1 and x.error is not null then x.error else ${JSON.stringify(lost)}::jsonb end,
            now()
          from jsonb_to_recordset(${JSON.stringify(relevant.map((t) => ({ task_id: t.taskId, task: t.task, queue: t.queue, before: t.before, error: t.error ?? null })))}::jsonb) as x(task_id uuid, task text, queue text, before int, error jsonb)
          cross join lateral generate_series(1, x.before - 1) as n
          where not exists (select 1 from ${table(db, 'task_attempt')} a where a.task_id = x.task_id and a.attempt = n)`,
    )
    // The key includes finished_at (partitioned by it), so "this attempt has a row" is the NOT EXISTS.
    .onConflict((oc) => oc.columns(['task_id', 'attempt', 'finished_at']).doNothing())
    .execute()
}

/**
 * Marks failed tasks as parked for a dead-letter queue after the fact: for the copies pg-boss made
 * into a dead-letter queue before tasklane recorded dead letters itself (each copy names the task it
 * came from). Only a failed row not yet marked changes, so a replay is a no-op.
 */
export async function markDeadLettered(
  db: Kysely<Database>,
  rows: { taskId: string; deadLetter: string }[],
): Promise<void> {
  if (rows.length === 0) return
  await sql`
    update ${table(db, 'task_history')} h set dead_letter = x.dead_letter
    from jsonb_to_recordset(${JSON.stringify(rows.map((r) => ({ task_id: r.taskId, dead_letter: r.deadLetter })))}::jsonb)
      as x(task_id uuid, dead_letter text)
    where h.task_id = x.task_id and h.status = 'failed' and h.dead_letter is null`.execute(db)
}
