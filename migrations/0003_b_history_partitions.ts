import { type Kysely, sql } from 'kysely'

/**
 * task_history and task_attempt partitioned by finish time (issue 18), one partition per UTC month,
 * so retention drops whole partitions instead of deleting rows (no bloat, no long vacuum).
 * task_history's months are split again by status ('completed' and the rest), because completed and
 * failed history have different retentions. Maintenance creates months ahead
 * (ensure_history_partitions) and drops months past retention (partition.repository.ts).
 *
 * Monthly, not daily: measured on PostgreSQL 15 with 208 daily leaves (2 statuses x 104 days), a
 * windowed stats query spent 40 ms planning (no plan-time pruning for now()-relative bounds) and a
 * lookup by task_id probed every leaf (150 ms); with monthly leaves both stay under a millisecond.
 *
 * A partitioned table's keys must contain the partition keys: task_history's primary key becomes
 * (task_id, finished_at, status), whose task_id prefix still serves every lookup by id;
 * task_attempt's becomes (task_id, attempt, finished_at).
 *
 * Existing installs migrate in place: rows are copied into the partitioned tables under an exclusive
 * lock (about a minute per few million rows), and every index later migrations added is recreated.
 */
export async function up(db: Kysely<any>, schema: string): Promise<void> {
  const t = (name: string) => sql.table(`${schema}.${name}`)
  const id = (name: string) => sql.id(schema, name)
  await sql`lock table ${t('task_history')}, ${t('task_attempt')} in access exclusive mode`.execute(db)

  await sql`
    create function ${id('ensure_history_partitions')}(from_month date, through_month date)
    returns integer language plpgsql as $$
    declare
      m date;
      made integer := 0;
      month_table text;
    begin
      for m in select generate_series(date_trunc('month', from_month), date_trunc('month', through_month), interval '1 month')::date loop
        month_table := 'task_history_' || to_char(m, '"y"YYYY"m"MM');
        if to_regclass(format('%I.%I', ${sql.lit(schema)}, month_table)) is null then
          execute format('create table %I.%I partition of %I.task_history for values from (%L) to (%L) partition by list (status)',
            ${sql.lit(schema)}, month_table, ${sql.lit(schema)},
            m::timestamp at time zone 'UTC', (m + interval '1 month')::timestamp at time zone 'UTC');
          execute format('create table %I.%I partition of %I.%I for values in (''completed'')',
            ${sql.lit(schema)}, month_table || '_completed', ${sql.lit(schema)}, month_table);
          execute format('create table %I.%I partition of %I.%I for values in (''failed'', ''cancelled'')',
            ${sql.lit(schema)}, month_table || '_other', ${sql.lit(schema)}, month_table);
          made := made + 1;
        end if;
        month_table := 'task_attempt_' || to_char(m, '"y"YYYY"m"MM');
        if to_regclass(format('%I.%I', ${sql.lit(schema)}, month_table)) is null then
          execute format('create table %I.%I partition of %I.task_attempt for values from (%L) to (%L)',
            ${sql.lit(schema)}, month_table, ${sql.lit(schema)},
            m::timestamp at time zone 'UTC', (m + interval '1 month')::timestamp at time zone 'UTC');
          made := made + 1;
        end if;
      end loop;
      return made;
    end $$`.execute(db)

  // Indexes later migrations put on the old tables, recreated by name on the new ones.
  const { rows: extra } = await sql<{ def: string }>`
    select indexdef as def from pg_indexes
    where schemaname = ${schema} and tablename in ('task_history', 'task_attempt')
      and indexname not in ('task_history_pkey', 'task_attempt_pk', 'task_history_finished_at',
        'task_history_task_finished_at', 'task_history_status_finished_at', 'task_attempt_finished_at',
        'task_history_finished_day')
      and indexdef not like 'CREATE UNIQUE%'`.execute(db)

  await sql`drop view ${id('daily_task_rollup')}`.execute(db)
  await sql`drop view ${id('task_history_v')}`.execute(db)
  await sql`drop view ${id('task_attempt_v')}`.execute(db)
  await sql`alter table ${t('task_history')} rename to task_history_unpartitioned`.execute(db)
  await sql`alter table ${t('task_attempt')} rename to task_attempt_unpartitioned`.execute(db)
  // Free the index names for the new tables.
  for (const table of ['task_history_unpartitioned', 'task_attempt_unpartitioned']) {
    const { rows } = await sql<{ name: string }>`
      select indexname as name from pg_indexes where schemaname = ${schema} and tablename = ${table}`.execute(
      db,
    )
    for (const { name } of rows) {
      await sql`alter index ${id(name)} rename to ${sql.id(`${name}_old`)}`.execute(db)
    }
  }

  await sql`
    create table ${t('task_history')} (like ${t('task_history_unpartitioned')} including defaults including constraints)
    partition by range (finished_at)`.execute(db)
  await sql`alter table ${t('task_history')} add constraint task_history_pkey primary key (task_id, finished_at, status)`.execute(
    db,
  )
  await sql`
    create table ${t('task_attempt')} (like ${t('task_attempt_unpartitioned')} including defaults including constraints)
    partition by range (finished_at)`.execute(db)
  await sql`alter table ${t('task_attempt')} add constraint task_attempt_pk primary key (task_id, attempt, finished_at)`.execute(
    db,
  )
  // Rows outside every month (a clock far off, a task recorded long after it finished) land here
  // rather than failing the settle; maintenance prunes it by age like any history.
  await sql`create table ${t('task_history_default')} partition of ${t('task_history')} default`.execute(db)
  await sql`create table ${t('task_attempt_default')} partition of ${t('task_attempt')} default`.execute(db)

  // Months from the oldest row to two months ahead, then the rows.
  await sql`
    select ${id('ensure_history_partitions')}(
      coalesce(least((select min(finished_at) from ${t('task_history_unpartitioned')}),
                     (select min(finished_at) from ${t('task_attempt_unpartitioned')})) at time zone 'UTC', now() at time zone 'UTC')::date,
      ((now() at time zone 'UTC') + interval '2 months')::date)`.execute(db)
  await sql`insert into ${t('task_history')} select * from ${t('task_history_unpartitioned')}`.execute(db)
  await sql`insert into ${t('task_attempt')} select * from ${t('task_attempt_unpartitioned')}`.execute(db)
  await sql`drop table ${t('task_history_unpartitioned')}`.execute(db)
  await sql`drop table ${t('task_attempt_unpartitioned')}`.execute(db)

  // The indexes of 0001/0002 but (status, finished_at): status is the sub-partition key now, so a
  // status filter prunes leaves instead, and the settle path maintains one index fewer.
  await sql`create index task_history_finished_at on ${t('task_history')} (finished_at)`.execute(db)
  await sql`create index task_history_task_finished_at on ${t('task_history')} (task, finished_at)`.execute(
    db,
  )
  await sql`create index task_history_finished_day on ${t('task_history')} (((finished_at at time zone 'UTC')::date), task)`.execute(
    db,
  )
  await sql`create index task_attempt_finished_at on ${t('task_attempt')} (finished_at)`.execute(db)
  for (const { def } of extra) await sql.raw(def.replace(' ON ONLY ', ' ON ')).execute(db)

  await createReportingViews(db, schema)
  await sql`analyze ${t('task_history')}`.execute(db)
  await sql`analyze ${t('task_attempt')}`.execute(db)
}

/** 0002's task_history_v and task_attempt_v (verbatim) and 0003_a's daily_task_rollup. */
async function createReportingViews(db: Kysely<any>, schema: string): Promise<void> {
  const t = (name: string) => sql.table(`${schema}.${name}`)
  const id = (name: string) => sql.id(schema, name)
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
  await sql`
    create view ${id('task_attempt_v')} as
    select task_id, attempt, task, queue, outcome,
      error ->> 'type' as error_type, error ->> 'message' as error_message,
      started_at, finished_at, (finished_at at time zone 'UTC')::date as finished_day,
      duration_ms as run_ms, worker_id
    from ${t('task_attempt')}`.execute(db)
  // 0003_a's daily_task_rollup, verbatim.
  await sql`
    create view ${id('daily_task_rollup')} as
    select r.day, r.task,
      sum(r.completed + r.failed + r.cancelled) as finished,
      sum(r.completed) as completed, sum(r.failed) as failed, sum(r.cancelled) as cancelled,
      round(coalesce(sum(r.failed)::numeric / nullif(sum(r.completed + r.failed), 0), 0), 4) as error_rate,
      round(sum(r.run_sum_ms)::numeric / nullif(sum(r.run_count), 0), 1) as avg_run_ms,
      ${id('histogram_percentile')}(${id('histogram_sum')}(r.run_hist), 0.5) as p50_run_ms,
      ${id('histogram_percentile')}(${id('histogram_sum')}(r.run_hist), 0.95) as p95_run_ms,
      ${id('histogram_percentile')}(${id('histogram_sum')}(r.run_hist), 0.99) as p99_run_ms,
      round(sum(r.wait_sum_ms)::numeric / nullif(sum(r.wait_count), 0), 1) as avg_wait_ms,
      ${id('histogram_percentile')}(${id('histogram_sum')}(r.wait_hist), 0.95) as p95_wait_ms,
      sum(r.retried) as retried, sum(r.dead_lettered) as dead_lettered, true as from_rollup
    from ${t('task_rollup')} r
    where r.day < (select folded_before from ${t('rollup_state')})
    group by r.day, r.task
    union all
    select (h.finished_at at time zone 'UTC')::date as day, h.task,
      count(*) as finished,
      count(*) filter (where h.status = 'completed') as completed,
      count(*) filter (where h.status = 'failed') as failed,
      count(*) filter (where h.status = 'cancelled') as cancelled,
      round(coalesce((count(*) filter (where h.status = 'failed'))::numeric
        / nullif(count(*) filter (where h.status <> 'cancelled'), 0), 0), 4) as error_rate,
      round(avg(h.duration_ms) filter (where h.status <> 'cancelled'), 1) as avg_run_ms,
      percentile_cont(0.5) within group (order by h.duration_ms) filter (where h.status <> 'cancelled'),
      percentile_cont(0.95) within group (order by h.duration_ms) filter (where h.status <> 'cancelled'),
      percentile_cont(0.99) within group (order by h.duration_ms) filter (where h.status <> 'cancelled'),
      round(avg(h.wait_ms), 1) as avg_wait_ms,
      percentile_cont(0.95) within group (order by h.wait_ms) as p95_wait_ms,
      null::bigint as retried, null::bigint as dead_lettered, false as from_rollup
    from ${t('task_history')} h
    where h.finished_at >= (select folded_before from ${t('rollup_state')})::timestamp at time zone 'UTC'
    group by 1, 2`.execute(db)
  const comments: Record<string, string> = {
    task_history_v: 'tasklane: finished tasks with wait, run and total times in ms (see docs/sql.md)',
    task_attempt_v:
      'tasklane: failed attempts, retried or final, with error type and message (see docs/sql.md)',
  }
  for (const [view, text] of Object.entries(comments)) {
    await sql`comment on view ${id(view)} is ${sql.lit(text)}`.execute(db)
  }
}

/** Back to plain tables (rows copied back), with 0001/0002's indexes and keys. */
export async function down(db: Kysely<any>, schema: string): Promise<void> {
  const t = (name: string) => sql.table(`${schema}.${name}`)
  const id = (name: string) => sql.id(schema, name)
  await sql`lock table ${t('task_history')}, ${t('task_attempt')} in access exclusive mode`.execute(db)
  const { rows: extra } = await sql<{ def: string }>`
    select indexdef as def from pg_indexes
    where schemaname = ${schema} and tablename in ('task_history', 'task_attempt')
      and indexname not in ('task_history_pkey', 'task_attempt_pk', 'task_history_finished_at',
        'task_history_task_finished_at', 'task_attempt_finished_at', 'task_history_finished_day')
      and indexdef not like 'CREATE UNIQUE%'`.execute(db)
  for (const view of ['daily_task_rollup', 'task_history_v', 'task_attempt_v']) {
    await sql`drop view ${id(view)}`.execute(db)
  }
  await sql`alter table ${t('task_history')} rename to task_history_partitioned`.execute(db)
  await sql`alter table ${t('task_attempt')} rename to task_attempt_partitioned`.execute(db)
  for (const table of ['task_history_partitioned', 'task_attempt_partitioned']) {
    const { rows } = await sql<{ name: string }>`
      select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
      join pg_index i on i.indexrelid = c.oid
      where n.nspname = ${schema} and i.indrelid = ${`${schema}.${table}`}::regclass`.execute(db)
    for (const { name } of rows)
      await sql`alter index ${id(name)} rename to ${sql.id(`${name}_old`)}`.execute(db)
  }
  await sql`create table ${t('task_history')} (like ${t('task_history_partitioned')} including defaults including constraints)`.execute(
    db,
  )
  await sql`alter table ${t('task_history')} add primary key (task_id)`.execute(db)
  await sql`create table ${t('task_attempt')} (like ${t('task_attempt_partitioned')} including defaults including constraints)`.execute(
    db,
  )
  await sql`alter table ${t('task_attempt')} add constraint task_attempt_pk primary key (task_id, attempt)`.execute(
    db,
  )
  await sql`insert into ${t('task_history')} select * from ${t('task_history_partitioned')} on conflict do nothing`.execute(
    db,
  )
  await sql`insert into ${t('task_attempt')} select * from ${t('task_attempt_partitioned')} on conflict do nothing`.execute(
    db,
  )
  await sql`drop table ${t('task_history_partitioned')} cascade`.execute(db)
  await sql`drop table ${t('task_attempt_partitioned')} cascade`.execute(db)
  await sql`drop function ${id('ensure_history_partitions')}(date, date)`.execute(db)
  await sql`create index task_history_finished_at on ${t('task_history')} (finished_at)`.execute(db)
  await sql`create index task_history_task_finished_at on ${t('task_history')} (task, finished_at)`.execute(
    db,
  )
  await sql`create index task_history_status_finished_at on ${t('task_history')} (status, finished_at)`.execute(
    db,
  )
  await sql`create index task_history_finished_day on ${t('task_history')} (((finished_at at time zone 'UTC')::date), task)`.execute(
    db,
  )
  await sql`create index task_attempt_finished_at on ${t('task_attempt')} (finished_at)`.execute(db)
  for (const { def } of extra) await sql.raw(def.replace(' ON ONLY ', ' ON ')).execute(db)
  await createReportingViews(db, schema)
}
