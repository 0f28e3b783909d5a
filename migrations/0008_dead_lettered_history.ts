import { type Kysely, sql } from 'kysely'

/**
 * `task_history.dead_letter`: the dead-letter queue a failed task was parked for (null otherwise).
 * tasklane no longer hands dead letters to pg-boss (whose copy into the dead-letter queue ran the
 * failed task again there, under a new id): a task whose retries are spent and that names a
 * `deadLetter` queue is recorded here at its final failure, listed by `deadLettered`, and retried
 * like any failed task (docs/reliability.md). The partial index serves that listing, newest first,
 * on the same key as every other listing; it holds only dead-lettered rows.
 *
 * `task_history_v` gains the column too (last, so the view is replaced in place).
 *
 * Rows written before this migration stay null: the daily rollup still counts them through pg-boss's
 * job row while pg-boss keeps it (src/history/rollup.repository.ts).
 */
export async function up(db: Kysely<any>, schema: string): Promise<void> {
  const t = sql.table(`${schema}.task_history`)
  // A new nullable column without a default: a catalog change only, on every partition.
  await sql`alter table ${t} add column dead_letter text`.execute(db)
  await sql`create index task_history_dead_letter_created_at on ${t} (created_at desc, task_id desc)
    where dead_letter is not null`.execute(db)
  await historyView(db, schema, true)
}

/** 0003_b's task_history_v, verbatim, with dead_letter appended when `withDeadLetter`. */
async function historyView(db: Kysely<any>, schema: string, withDeadLetter: boolean): Promise<void> {
  await sql`
    create or replace view ${sql.id(schema, 'task_history_v')} as
    select task_id, task, queue,
      case when priority >= 30 then 'CRITICAL' when priority >= 20 then 'HIGH'
           when priority >= 10 then 'NORMAL' else 'LOW' end as priority,
      status, attempts, max_attempts, args, result,
      error ->> 'type' as error_type, error ->> 'message' as error_message,
      created_at, start_after, started_at, finished_at,
      (finished_at at time zone 'UTC')::date as finished_day,
      wait_ms, duration_ms as run_ms,
      (extract(epoch from finished_at - created_at) * 1000)::bigint as total_ms,
      worker_id, cpu_ms, peak_memory_mb${withDeadLetter ? sql`, dead_letter` : sql``}
    from ${sql.table(`${schema}.task_history`)}`.execute(db)
}

export async function down(db: Kysely<any>, schema: string): Promise<void> {
  // A view cannot lose a column in place: drop it and make 0003_b's again, with its comment.
  await sql`drop view ${sql.id(schema, 'task_history_v')}`.execute(db)
  await historyView(db, schema, false)
  await sql`comment on view ${sql.id(schema, 'task_history_v')} is ${sql.lit(
    'tasklane: finished tasks with wait, run and total times in ms (see docs/sql.md)',
  )}`.execute(db)
  await sql`drop index if exists ${sql.id(schema, 'task_history_dead_letter_created_at')}`.execute(db)
  await sql`alter table ${sql.table(`${schema}.task_history`)} drop column if exists dead_letter`.execute(db)
}
