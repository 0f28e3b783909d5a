import { type Kysely, sql } from 'kysely'

/**
 * Views for reporting in plain SQL, documented in docs/sql.md (which runs every example against them
 * in test/stats/sql-docs.test.ts). Plain views, not materialized: always current, nothing to refresh.
 * Days are UTC dates.
 */
export async function up(db: Kysely<any>, schema: string): Promise<void> {
  const t = (name: string) => sql.table(`${schema}.${name}`)
  const id = (name: string) => sql.id(schema, name)

  // Finished tasks with their times spelled out. priority is the label users pass to addTask.
  await sql`
    create view ${id('task_history_v')} as
    select task_id, task, queue,
      case when priority >= 30 then 'CRITICAL' when priority >= 20 then 'HIGH'
           when priority >= 10 then 'NORMAL' else 'LOW' end as priority,
      status, attempts, max_attempts, args, result,
      error ->> 'type' as error_type, error ->> 'message' as error_message,
      created_at, start_after, started_at, finished_at,
      (finished_at at time zone 'UTC')::date as finished_day,
      wait_ms, duration_ms as run_ms,
      (extract(epoch from finished_at - created_at) * 1000)::bigint as total_ms,
      worker_id, cpu_ms, peak_memory_mb
    from ${t('task_history')}`.execute(db)

  // Every failed attempt (retried or final), with its error spelled out.
  await sql`
    create view ${id('task_attempt_v')} as
    select task_id, attempt, task, queue, outcome,
      error ->> 'type' as error_type, error ->> 'message' as error_message,
      started_at, finished_at, (finished_at at time zone 'UTC')::date as finished_day,
      duration_ms as run_ms, worker_id
    from ${t('task_attempt')}`.execute(db)

  // One row per UTC day and task. A filter on day is pushed below the GROUP BY onto the expression
  // index below, so "the last 7 days" reads 7 days of history, not the whole table.
  await sql`
    create view ${id('daily_task_rollup')} as
    select (finished_at at time zone 'UTC')::date as day, task,
      count(*) as finished,
      count(*) filter (where status = 'completed') as completed,
      count(*) filter (where status = 'failed') as failed,
      count(*) filter (where status = 'cancelled') as cancelled,
      round(coalesce((count(*) filter (where status = 'failed'))::numeric
        / nullif(count(*) filter (where status <> 'cancelled'), 0), 0), 4) as error_rate,
      round(avg(duration_ms) filter (where status <> 'cancelled'), 1) as avg_run_ms,
      percentile_cont(0.5) within group (order by duration_ms) filter (where status <> 'cancelled') as p50_run_ms,
      percentile_cont(0.95) within group (order by duration_ms) filter (where status <> 'cancelled') as p95_run_ms,
      percentile_cont(0.99) within group (order by duration_ms) filter (where status <> 'cancelled') as p99_run_ms,
      round(avg(wait_ms), 1) as avg_wait_ms,
      percentile_cont(0.95) within group (order by wait_ms) as p95_wait_ms
    from ${t('task_history')}
    group by 1, 2`.execute(db)
  await sql`
    create index task_history_finished_day on ${t('task_history')} (((finished_at at time zone 'UTC')::date), task)`.execute(
    db,
  )

  for (const [view, text] of Object.entries(COMMENTS)) {
    await sql`comment on view ${id(view)} is ${sql.lit(text)}`.execute(db)
  }
}

const COMMENTS: Record<string, string> = {
  task_history_v: 'tasklane: finished tasks with wait, run and total times in ms (see docs/sql.md)',
  task_attempt_v:
    'tasklane: failed attempts, retried or final, with error type and message (see docs/sql.md)',
  daily_task_rollup:
    'tasklane: per UTC day and task: outcomes, error rate, run and wait percentiles (see docs/sql.md)',
}

export async function down(db: Kysely<any>, schema: string): Promise<void> {
  await sql`drop index if exists ${sql.id(schema, 'task_history_finished_day')}`.execute(db)
  for (const view of ['daily_task_rollup', 'task_attempt_v', 'task_history_v']) {
    await sql`drop view if exists ${sql.id(schema, view)}`.execute(db)
  }
}
