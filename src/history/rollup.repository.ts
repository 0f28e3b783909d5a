import { type Kysely, sql } from 'kysely'
import type { Database } from '../db/database.ts'
import type { JobReads } from '../queue/job-store.ts'
import { finalFailureOf, fn, table } from '../stats/sql-parts.ts'

/**
 * All SQL of the daily rollup (migration 0003_a, docs/sql.md): folding finished days of history into
 * task_rollup, and pruning rollups past their own retention.
 *
 * Exactly once: a day is folded and rollup_state.folded_before moves past it in one transaction,
 * holding rollup_state's row lock, so a crash either leaves both undone or both done, and two
 * processes folding at once take turns. History pruning (history.repository.ts) never deletes rows
 * of a day that is not folded yet.
 */

export interface RollupState {
  /** Days before this UTC midnight are in task_rollup. */
  foldedBefore: Date
  /** History is complete from this UTC midnight on (rows before it may have been pruned); null: all of it. */
  historyFrom: Date | null
}

export async function rollupState(db: Kysely<Database>): Promise<RollupState> {
  const { rows } = await sql<{ folded_before: Date; history_from: Date | null }>`
    select folded_before::timestamp at time zone 'UTC' as folded_before,
      case when history_from > '-infinity' then history_from::timestamp at time zone 'UTC' end as history_from
    from ${table(db, 'rollup_state')}`.execute(db)
  const row = rows[0]!
  return { foldedBefore: row.folded_before, historyFrom: row.history_from }
}

/**
 * Folds the oldest unfolded UTC day into task_rollup, if it ended at least `graceMs` ago (history of
 * a day can still arrive just after midnight: a settle batch in flight, a lost worker recorded late).
 * Returns the day folded (its UTC midnight), or null when no day is due.
 * @example while (await foldNextDay(db, store.reads, 3_600_000)) {}
 */
export async function foldNextDay(
  db: Kysely<Database>,
  jobs: JobReads,
  graceMs: number,
): Promise<Date | null> {
  return db.transaction().execute(async (trx) => {
    const { rows } = await sql<{ day: string; due: boolean }>`
      select folded_before::text as day,
        now() >= (folded_before + 1)::timestamp at time zone 'UTC' + make_interval(secs => ${graceMs / 1000})
          as due
      from ${table(trx, 'rollup_state')} for update`.execute(trx)
    const state = rows[0]
    if (!state?.due) return null
    await foldDayQuery(trx, jobs, state.day).execute(trx)
    await sql`update ${table(trx, 'rollup_state')} set folded_before = folded_before + 1`.execute(trx)
    return new Date(`${state.day}T00:00:00Z`)
  })
}

/**
 * One day's rollup rows, per task and queue: outcome counts, failed attempts that were retried (not
 * the final failure), failed tasks parked for a dead-letter queue (history's dead_letter; for rows
 * written before migration 0008, the job store's row while it keeps it), and wait/run histograms built with histogram_bucket().
 * Reads the day through task_history_finished_at and task_attempt_finished_at.
 */
function foldDayQuery(db: Kysely<Database>, jobs: JobReads, day: string) {
  const from = sql`${day}::date::timestamp at time zone 'UTC'`
  const to = sql`(${day}::date + 1)::timestamp at time zone 'UTC'`
  const hist = (source: string) => sql`(
    select coalesce(array_agg(coalesce(b.n, 0) order by i), '{}')
    from generate_series(1, (select max(x.b) from ${sql.table(source)} x
      where x.task = k.task and x.queue = k.queue)) i
    left join ${sql.table(source)} b on b.task = k.task and b.queue = k.queue and b.b = i)`
  return sql`
    insert into ${table(db, 'task_rollup')} (day, task, queue, completed, failed, cancelled, retried,
      dead_lettered, run_count, run_sum_ms, run_max_ms, run_hist, wait_count, wait_sum_ms, wait_max_ms,
      wait_hist)
    with h as materialized (
      select task_id, task, queue, status, attempts, wait_ms, dead_letter,
        case when status <> 'cancelled' then duration_ms end as run_ms
      from ${table(db, 'task_history')}
      where finished_at >= ${from} and finished_at < ${to}
    ),
    outcomes as (
      select task, queue,
        count(*) filter (where status = 'completed') as completed,
        count(*) filter (where status = 'failed') as failed,
        count(*) filter (where status = 'cancelled') as cancelled,
        count(run_ms) as run_count, coalesce(sum(run_ms), 0) as run_sum_ms, max(run_ms) as run_max_ms,
        count(wait_ms) as wait_count, coalesce(sum(wait_ms), 0) as wait_sum_ms, max(wait_ms) as wait_max_ms
      from h group by task, queue
    ),
    dead as (
      select h.task, h.queue, count(*) as n
      from h left join ${jobs.legacyDeadLetters()} j
        on h.dead_letter is null and j.id = h.task_id and j.queue = h.queue
      where h.status = 'failed' and coalesce(h.dead_letter, j.dead_letter) is not null
      group by 1, 2
    ),
    retried as (
      select a.task, a.queue, count(*) as n
      from ${table(db, 'task_attempt')} a
      left join ${table(db, 'task_history')} f
        on ${finalFailureOf(from)}
      where a.finished_at >= ${from} and a.finished_at < ${to} and f.task_id is null
      group by 1, 2
    ),
    run_b as (
      select task, queue, ${fn(db, 'histogram_bucket')}(run_ms) as b, count(*)::integer as n
      from h where run_ms is not null group by 1, 2, 3
    ),
    wait_b as (
      select task, queue, ${fn(db, 'histogram_bucket')}(wait_ms) as b, count(*)::integer as n
      from h where wait_ms is not null group by 1, 2, 3
    ),
    k as (select task, queue from outcomes union select task, queue from retried)
    select ${day}::date, k.task, k.queue,
      coalesce(o.completed, 0), coalesce(o.failed, 0), coalesce(o.cancelled, 0), coalesce(r.n, 0),
      coalesce(d.n, 0), coalesce(o.run_count, 0), coalesce(o.run_sum_ms, 0), o.run_max_ms,
      ${hist('run_b')}, coalesce(o.wait_count, 0), coalesce(o.wait_sum_ms, 0), o.wait_max_ms,
      ${hist('wait_b')}
    from k
    left join outcomes o on o.task = k.task and o.queue = k.queue
    left join retried r on r.task = k.task and r.queue = k.queue
    left join dead d on d.task = k.task and d.queue = k.queue`
}

/** Deletes rollup rows of days before `before` (a UTC date). Returns how many. */
export async function pruneRollups(db: Kysely<Database>, before: Date): Promise<number> {
  const result = await sql`
    delete from ${table(db, 'task_rollup')} where day < ${before.toISOString().slice(0, 10)}::date`.execute(
    db,
  )
  return Number(result.numAffectedRows ?? 0)
}
