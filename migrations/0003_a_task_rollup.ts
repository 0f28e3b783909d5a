import { type Kysely, sql } from 'kysely'

/**
 * Durable rollups (issue 18): one row per UTC day, task and queue, folded from history before
 * history is pruned, so reports outlive history retention. Wait and run times are kept as
 * log-scale histograms (8 buckets per doubling) that merge by adding counts, so percentiles over any
 * range of days come from the rollup alone. docs/sql.md documents the table and the functions.
 *
 * `daily_task_rollup` (migration 0002) is redefined to read the rollup for folded days and history
 * for the days not folded yet.
 */
export async function up(db: Kysely<any>, schema: string): Promise<void> {
  const t = (name: string) => sql.table(`${schema}.${name}`)
  const id = (name: string) => sql.id(schema, name)

  await sql`
    create table ${t('task_rollup')} (
      day date not null,
      task text not null,
      queue text not null,
      completed integer not null,
      failed integer not null,
      cancelled integer not null,
      retried integer not null,
      dead_lettered integer not null,
      run_count integer not null,
      run_sum_ms bigint not null,
      run_max_ms integer,
      run_hist integer[] not null,
      wait_count integer not null,
      wait_sum_ms bigint not null,
      wait_max_ms integer,
      wait_hist integer[] not null,
      primary key (day, task, queue)
    )`.execute(db)
  await sql`create index task_rollup_task_day on ${t('task_rollup')} (task, day)`.execute(db)

  // One row. Days before folded_before are in task_rollup (folding a day and moving this mark are one
  // transaction: a day is folded exactly once). History is complete from history_from on: pruning
  // never passes folded_before, and raises history_from in the transaction that deletes.
  await sql`
    create table ${t('rollup_state')} (
      one boolean primary key default true check (one),
      folded_before date not null,
      history_from date not null
    )`.execute(db)
  // An existing install folds what history it has, from its oldest day on. Nothing has been pruned
  // under the rollup's watch yet, so history counts as complete (-infinity) until the first prune.
  await sql`
    insert into ${t('rollup_state')} (folded_before, history_from)
    select d, '-infinity' from (
      select coalesce(least(
        (select min(finished_at) from ${t('task_history')}),
        (select min(finished_at) from ${t('task_attempt')})) at time zone 'UTC',
        now() at time zone 'UTC')::date as d
    ) s`.execute(db)

  // Bucket 1 holds 0 ms; bucket i >= 2 holds [2^((i-2)/8), 2^((i-1)/8)) ms. The epsilon keeps exact
  // powers of two (1, 2, 4 ms...) in their own bucket despite float rounding of ln().
  await sql`
    create function ${id('histogram_bucket')}(ms integer) returns integer
    language sql immutable parallel safe
    return case when ms < 1 then 1 else 2 + floor(8 * ln(ms::float8) / ln(2::float8) + 1e-9)::integer end`.execute(
    db,
  )
  // The value a bucket stands for: the geometric middle of its range (0 for bucket 1), within
  // 2^(1/16) - 1 = 4.4% of every value in the bucket.
  await sql`
    create function ${id('histogram_value')}(bucket integer) returns float8
    language sql immutable parallel safe
    return case when bucket <= 1 then 0 else power(2::float8, (bucket - 1.5) / 8) end`.execute(db)
  // Element-wise sum of two histograms of any lengths; the aggregate histogram_sum() merges rows.
  // PL/pgSQL, adding into the state array in place: a SQL version rebuilding the array per row (or
  // unnest ... group by) measured 1.3-1.8x slower over a year of rollups.
  await sql`
    create function ${id('histogram_add')}(a integer[], b integer[]) returns integer[]
    language plpgsql immutable parallel safe as $$
    begin
      if a is null then return b; end if;
      if b is null then return a; end if;
      for i in 1 .. coalesce(array_upper(b, 1), 0) loop
        a[i] := coalesce(a[i], 0) + b[i];
      end loop;
      return a;
    end $$`.execute(db)
  await sql`
    create aggregate ${id('histogram_sum')}(integer[]) (
      sfunc = ${id('histogram_add')}, stype = integer[], combinefunc = ${id('histogram_add')},
      parallel = safe)`.execute(db)
  // The nearest-rank percentile (like percentile_disc): the value of the bucket holding the
  // ceil(p * n)-th smallest sample. Null for an empty histogram.
  await sql`
    create function ${id('histogram_percentile')}(hist integer[], p float8) returns float8
    language sql immutable parallel safe
    return (
      select ${id('histogram_value')}(i::integer) from (
        select i, sum(c) over (order by i) as below, sum(c) over () as n
        from unnest(hist) with ordinality u(c, i)
      ) s
      where n > 0 and below >= greatest(ceil(p * n), 1)
      order by i limit 1)`.execute(db)

  await sql`drop view ${id('daily_task_rollup')}`.execute(db)
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

  for (const [object, text] of Object.entries(COMMENTS)) {
    await sql`comment on ${sql.raw(object.startsWith('view:') ? 'view' : 'table')} ${id(object.replace(/^\w+:/, ''))} is ${sql.lit(text)}`.execute(
      db,
    )
  }
}

const COMMENTS: Record<string, string> = {
  'view:daily_task_rollup':
    'tasklane: per UTC day and task, from task_rollup for folded days and task_history after (see docs/sql.md)',
  'table:task_rollup':
    'tasklane: per UTC day, task and queue: outcomes and wait/run histograms, kept past history retention (see docs/sql.md)',
  'table:rollup_state':
    'tasklane: days before folded_before are in task_rollup; history is complete from history_from',
}

export async function down(db: Kysely<any>, schema: string): Promise<void> {
  const id = (name: string) => sql.id(schema, name)
  await sql`drop view if exists ${id('daily_task_rollup')}`.execute(db)
  await sql`drop aggregate if exists ${id('histogram_sum')}(integer[])`.execute(db)
  for (const fn of [
    'histogram_percentile(integer[], float8)',
    'histogram_add(integer[], integer[])',
    'histogram_value(integer)',
    'histogram_bucket(integer)',
  ]) {
    await sql`drop function if exists ${sql.raw(`${schema}.${fn}`)}`.execute(db)
  }
  await sql`drop table if exists ${id('rollup_state')}`.execute(db)
  await sql`drop table if exists ${id('task_rollup')}`.execute(db)
  await recreate0002DailyView(db, schema)
}

/** 0002's daily_task_rollup, verbatim, so down() leaves the schema as 0002 made it. */
async function recreate0002DailyView(db: Kysely<any>, schema: string): Promise<void> {
  const t = (name: string) => sql.table(`${schema}.${name}`)
  await sql`
    create view ${sql.id(schema, 'daily_task_rollup')} as
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
}
