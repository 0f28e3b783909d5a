import { type Kysely, sql } from 'kysely'
import type { Database } from '../db/database.ts'
import { fn, table } from '../stats/sql-parts.ts'

/**
 * Monthly partitions of task_history (split by status) and task_attempt (migration 0003_b): made
 * ahead of time, and dropped whole once past retention, never before the daily rollup has folded
 * every day they hold.
 */

/** Creates the months from this one through `monthsAhead` ahead that do not exist yet. Returns how many. */
export async function ensureHistoryPartitions(db: Kysely<Database>, monthsAhead = 2): Promise<number> {
  const { rows } = await sql<{ made: number }>`
    select ${fn(db, 'ensure_history_partitions')}((now() at time zone 'UTC')::date,
      ((now() at time zone 'UTC') + make_interval(months => ${monthsAhead}))::date) as made`.execute(db)
  return Number(rows[0]?.made ?? 0)
}

export interface DroppedPartitions {
  /** Names of the partitions dropped (a month's `_completed` leaf, or a whole month). */
  dropped: string[]
  /** Rows deleted from the default partitions (rows that fell outside every month). */
  deletedRows: number
}

const MONTH = /^task_(history|attempt)_y(\d{4})m(\d{2})(_completed|_other)?$/

/**
 * Drops, in one transaction, the partitions whose whole month is past retention: a month's completed
 * leaf once the month ended before `completedBefore`, the whole month of history and attempts once
 * it ended before both cutoffs. Both cutoffs are clamped to rollup_state.folded_before (only folded
 * days are dropped), and history_from moves to the end of the latest month dropped, in the same
 * transaction. A row therefore lives from its retention to its retention plus a month.
 *
 * Detaching takes an exclusive lock on the month's table (the whole history for a whole month): a
 * lock_timeout bounds the wait behind a long report, and the next pass retries.
 */
export async function dropExpiredPartitions(
  db: Kysely<Database>,
  cutoffs: { completedBefore: Date; failedBefore: Date },
  lockTimeoutMs = 2_000,
): Promise<DroppedPartitions> {
  return db.transaction().execute(async (trx) => {
    await sql`select set_config('lock_timeout', ${`${lockTimeoutMs}ms`}, true)`.execute(trx)
    const { rows: state } = await sql<{ folded_at: Date; schema: string }>`
      select folded_before::timestamp at time zone 'UTC' as folded_at,
        (select relnamespace::regnamespace::text from pg_class where oid = ${tableOid(trx, 'task_history')}) as schema
      from ${table(trx, 'rollup_state')} for update`.execute(trx)
    const { folded_at: foldedAt, schema } = state[0]!
    const clamp = (d: Date) => Math.min(d.getTime(), foldedAt.getTime())
    const completedBefore = clamp(cutoffs.completedBefore)
    const allBefore = Math.min(completedBefore, clamp(cutoffs.failedBefore))
    const { rows: parts } = await sql<{ name: string; parent: string }>`
      select c.relname as name, p.relname as parent
      from pg_inherits i join pg_class c on c.oid = i.inhrelid join pg_class p on p.oid = i.inhparent
      where p.oid in (${tableOid(trx, 'task_history')}, ${tableOid(trx, 'task_attempt')})
         or p.oid in (select inhrelid from pg_inherits where inhparent = ${tableOid(trx, 'task_history')})`.execute(
      trx,
    )
    const doomed: { name: string; parent: string; end: number }[] = []
    for (const p of parts) {
      const m = MONTH.exec(p.name)
      if (!m) continue
      const end = Date.UTC(Number(m[2]), Number(m[3]), 1) // the first instant of the next month
      const whole = m[4] === undefined
      if (whole && end <= allBefore) doomed.push({ ...p, end })
      else if (m[4] === '_completed' && end <= completedBefore && end > allBefore) doomed.push({ ...p, end })
    }
    for (const d of doomed) {
      const name = sql.id(schema, d.name)
      await sql`alter table ${sql.id(schema, d.parent)} detach partition ${name}`.execute(trx)
      await sql`drop table ${name}`.execute(trx)
    }
    const latest = Math.max(0, ...doomed.filter((d) => d.name.startsWith('task_history')).map((d) => d.end))
    if (latest > 0) {
      await sql`update ${table(trx, 'rollup_state')}
        set history_from = greatest(history_from, (${new Date(latest)}::timestamptz at time zone 'UTC')::date)`.execute(
        trx,
      )
    }
    const deletedRows = await pruneDefaultPartitions(trx, schema, {
      completedBefore: new Date(completedBefore),
      failedBefore: new Date(clamp(cutoffs.failedBefore)),
    })
    return { dropped: doomed.map((d) => d.name), deletedRows }
  })
}

function tableOid(db: Kysely<Database>, name: 'task_history' | 'task_attempt') {
  return sql`${sql.lit(table(db, name).compile(db).sql.replaceAll('"', ''))}::regclass`
}

/**
 * Rows outside every month sit in the default partitions (normally empty): deleted by age, at most
 * 10,000 per pass, with their attempts.
 */
async function pruneDefaultPartitions(
  db: Kysely<Database>,
  schema: string,
  cutoffs: { completedBefore: Date; failedBefore: Date },
): Promise<number> {
  const result = await sql`
    delete from ${sql.id(schema, 'task_history_default')} where ctid in (
      select ctid from ${sql.id(schema, 'task_history_default')}
      where (status = 'completed' and finished_at < ${cutoffs.completedBefore})
         or (status <> 'completed' and finished_at < ${cutoffs.failedBefore})
      limit 10000)`.execute(db)
  const older = new Date(Math.min(cutoffs.completedBefore.getTime(), cutoffs.failedBefore.getTime()))
  await sql`
    delete from ${sql.id(schema, 'task_attempt_default')} where ctid in (
      select ctid from ${sql.id(schema, 'task_attempt_default')} where finished_at < ${older} limit 10000)`.execute(
    db,
  )
  return Number(result.numAffectedRows ?? 0)
}

/** Progress rows of tasks long finished (or abandoned): deleted by age, at most `batch` per call. */
export async function pruneProgress(db: Kysely<Database>, before: Date, batch = 10_000): Promise<number> {
  const result = await sql`
    delete from ${table(db, 'task_progress')} where task_id in (
      select task_id from ${table(db, 'task_progress')} where updated_at < ${before} limit ${batch})`.execute(
    db,
  )
  return Number(result.numAffectedRows ?? 0)
}
