import { type Kysely, sql } from 'kysely'

/**
 * The SQL API (docs/enqueue.md): `<schema>.add_task(...)` and `<schema>.add_tasks(...)` enqueue from
 * any SQL client, migration or trigger, in the caller's transaction, with the same defaults,
 * idempotency and wake-up as `addTask`.
 *
 * SQL cannot see the definitions a process registers, so every process publishes them at start()
 * (src/enqueue/sql-api.ts): `task_definition` holds each task's defaults, including the pg-boss job
 * options TypeScript computes for it (toBossJob), so both paths write identical rows by construction;
 * `setting` 'enqueue' holds what the functions need about this deployment (pg-boss's schema, whether
 * it NOTIFYs, the priority mapping, the defaults of a task no process has registered yet).
 *
 * The job row is written as pg-boss's own insert (plans.insertJobs, pg-boss 12) writes it: the same
 * columns, the queue's row LEFT JOINed for every default the job does not carry, ON CONFLICT DO
 * NOTHING, and one transactional pg_notify on pg-boss's channel for the queue when a row is ready
 * now. test/enqueue/sql-api.test.ts compares a row written here with one written by addTask, column
 * by column, so a pg-boss upgrade that changes its insert fails there.
 */
export async function up(db: Kysely<any>, schema: string): Promise<void> {
  const t = (name: string) => sql.table(`${schema}.${name}`)
  const fn = (name: string) => sql.id(schema, name)

  await sql`
    create table ${t('task_definition')} (
      name text primary key,
      queue text not null,
      priority text not null check (priority in ('CRITICAL', 'HIGH', 'NORMAL', 'LOW')),
      retry jsonb not null,
      timeout_ms bigint,
      dead_letter text,
      has_schema boolean not null,
      job_options jsonb not null,
      published_by text not null,
      published_at timestamptz not null default now()
    )`.execute(db)
  await sql`
    create table ${t('setting')} (
      name text primary key,
      value jsonb not null,
      updated_at timestamptz not null default now()
    )`.execute(db)

  // The batch form does the work; add_task is one item of it. Parameters are qualified by the
  // function's name in the body (add_tasks.queue) and bare names are columns.
  await sql`
    create function ${fn('add_tasks')}(
      task text,
      args jsonb[],
      priority text default null,
      start_after timestamptz default null,
      delay interval default null,
      idempotency_keys text[] default null,
      queue text default null,
      defer_check boolean default false
    ) returns table (task_id uuid, deduplicated boolean, status text)
    language plpgsql volatile
    set search_path = pg_catalog, pg_temp
    as $fn$
    #variable_conflict use_column
    declare
      cfg jsonb;
      def record;
      boss text;
      v_queue text;
      v_priority text;
      v_boss_priority int;
      v_retry jsonb;
      v_job_options jsonb;
      v_delay_ms numeric;
      v_start_ms bigint;
      v_scheduled boolean;
      v_status text;
      q_table text;
      q_notify boolean;
      item record;
      v_key text;
      v_id uuid;
      v_hash text;
      held record;
      ids uuid[] := '{}';
      dedup boolean[] := '{}';
      fresh_ids uuid[] := '{}';
      fresh_data jsonb[] := '{}';
      ready bigint;
    begin
      select value into cfg from ${t('setting')} where name = 'enqueue';
      if cfg is null then
        raise exception 'tasklane''s SQL API is not ready in schema %: no tasklane process has started here yet', ${sql.lit(schema)}
          using errcode = 'TL503',
            hint = 'start a tasklane process (createTasklane(...).start(), tasklane worker or serve) once: it publishes its task definitions';
      end if;
      boss := cfg->>'bossSchema';

      if add_tasks.task is null then
        raise exception 'task is required: the name of a task defined with defineTask' using errcode = 'TL400';
      end if;
      select * into def from ${t('task_definition')} d where d.name = add_tasks.task;
      if not found then
        if not coalesce(add_tasks.defer_check, false) then
          raise exception 'unknown task ''%'': no tasklane process has registered it (known tasks: %)', add_tasks.task,
              coalesce((select string_agg(d.name, ', ' order by d.name) from (select d2.name from ${t('task_definition')} d2 order by d2.name limit 20) d), '(none)')
            using errcode = 'TL404',
              hint = 'register it in createTasklane({ tasks }) and start a process, or pass defer_check => true to enqueue it before any process knows it';
        end if;
        if add_tasks.task !~ '^[a-z0-9][a-z0-9._-]{0,99}$' then
          raise exception 'task name ''%'' is invalid: use 1-100 characters of a-z, 0-9, ''.'', ''_'' or ''-'', starting with a letter or digit', add_tasks.task
            using errcode = 'TL400';
        end if;
        v_queue := cfg #>> '{unknownTask,queue}';
        v_priority := cfg #>> '{unknownTask,priority}';
        v_retry := cfg #> '{unknownTask,retry}';
        v_job_options := cfg #> '{unknownTask,jobOptions}';
      else
        v_queue := def.queue;
        v_priority := def.priority;
        v_retry := def.retry;
        v_job_options := def.job_options;
      end if;

      v_queue := coalesce(add_tasks.queue, v_queue);
      execute format('select table_name, notify from %I.queue where name = $1', boss)
        into q_table, q_notify using v_queue;
      if q_table is null then
        raise exception 'queue ''%'' does not exist', v_queue
          using errcode = 'TL404',
            hint = 'tasklane creates a queue when a process that serves one of its tasks starts; name a queue of a registered task';
      end if;

      if add_tasks.priority is not null then
        v_priority := upper(add_tasks.priority);
        if not (cfg->'priorities') ? v_priority then
          raise exception 'priority ''%'' is invalid: use critical, high, normal or low', add_tasks.priority
            using errcode = 'TL400';
        end if;
      end if;
      v_boss_priority := (cfg->'priorities'->>v_priority)::int;

      if add_tasks.delay is not null and add_tasks.start_after is not null then
        raise exception 'give either delay or start_after, not both' using errcode = 'TL400';
      end if;
      if add_tasks.delay is not null then
        v_delay_ms := extract(epoch from add_tasks.delay) * 1000;
        if v_delay_ms < 0 or v_delay_ms > 3650 * 86400000::numeric then
          raise exception 'delay % is invalid: use an interval from 0 to 10 years', add_tasks.delay using errcode = 'TL400';
        end if;
        if v_delay_ms <> trunc(v_delay_ms) then
          raise exception 'delay % is finer than a millisecond, which tasklane does not honour: use whole milliseconds', add_tasks.delay
            using errcode = 'TL400';
        end if;
        if v_delay_ms = 0 then
          v_delay_ms := null;
        end if;
      end if;
      if add_tasks.start_after is not null then
        if not isfinite(add_tasks.start_after)
            or extract(year from add_tasks.start_after at time zone 'UTC') not between 1 and 9999 then
          raise exception 'start_after % is invalid: use an instant in the years 1 to 9999', add_tasks.start_after
            using errcode = 'TL400';
        end if;
        if add_tasks.start_after <> date_trunc('milliseconds', add_tasks.start_after) then
          raise exception 'start_after % has digits finer than a millisecond, which tasklane does not honour', add_tasks.start_after
            using errcode = 'TL400', hint = 'round it: date_trunc(''milliseconds'', ...)';
        end if;
        v_start_ms := (extract(epoch from add_tasks.start_after) * 1000)::bigint;
      end if;
      execute format('select $1 > %I.job_now()', boss) into v_scheduled
        using coalesce(add_tasks.start_after, case when v_delay_ms is not null then 'infinity'::timestamptz end, '-infinity'::timestamptz);
      v_status := case when v_scheduled then 'scheduled' else 'queued' end;

      if add_tasks.idempotency_keys is not null
          and cardinality(add_tasks.idempotency_keys) <> cardinality(add_tasks.args) then
        raise exception 'idempotency_keys has % entries for % args: give one key (or null) per args entry',
            cardinality(add_tasks.idempotency_keys), cardinality(add_tasks.args)
          using errcode = 'TL400';
      end if;

      for item in
        select a.args, k.key
        from unnest(add_tasks.args) with ordinality as a(args, ord)
        left join unnest(add_tasks.idempotency_keys) with ordinality as k(key, ord) on k.ord = a.ord
        order by a.ord
      loop
        v_id := gen_random_uuid();
        v_key := item.key;
        if v_key is not null then
          if length(v_key) not between 1 and 200 then
            raise exception 'idempotency key must be 1 to 200 characters (got %)', length(v_key) using errcode = 'TL400';
          end if;
          -- The canonical request, as the TypeScript path builds it (src/idempotency/canonical-request.ts).
          v_hash := ${fn('idempotency_request_hash')}(jsonb_build_object(
            'task', add_tasks.task, 'queue', v_queue, 'args', item.args, 'priority', v_priority,
            'startAfter', v_start_ms, 'delay', v_delay_ms::bigint, 'retry', v_retry));
          insert into ${t('idempotency_key')} as ik (key, task_id, task, request_hash)
          values (v_key, v_id, add_tasks.task, v_hash)
          on conflict (key) do nothing;
          if not found then
            select ik.task_id, ik.request_hash into held from ${t('idempotency_key')} ik where ik.key = v_key;
            if held.request_hash is distinct from v_hash then
              raise exception 'idempotency key ''%'' was already used for a different request', v_key
                using errcode = 'TL409', hint = 'use a new key, or resend the original request';
            end if;
            ids := ids || held.task_id;
            dedup := dedup || true;
            continue;
          end if;
        end if;
        ids := ids || v_id;
        dedup := dedup || false;
        fresh_ids := fresh_ids || v_id;
        fresh_data := fresh_data || jsonb_build_object('task', add_tasks.task, 'args', item.args);
      end loop;

      if cardinality(fresh_ids) > 0 then
        -- pg-boss 12's insertJobs, column for column (job options as toBossJob computed them).
        execute format($ins$
          with ins as (
            insert into %1$I.%2$I (
              id, name, data, priority, start_after, created_on, singleton_key, singleton_on, group_id,
              group_tier, expire_seconds, deletion_seconds, keep_until, retry_limit, retry_delay,
              retry_backoff, retry_delay_max, policy, dead_letter, heartbeat_seconds, blocked, blocking,
              pending_dependencies, trace_context)
            select j.id, $2, j.data, $3, s.start_after, %1$I.job_now(), null, null, null,
              null,
              coalesce(($4->>'expireInSeconds')::int, q.expire_seconds, 900),
              coalesce(($4->>'deleteAfterSeconds')::int, q.deletion_seconds, 604800),
              s.start_after + (coalesce(($4->>'retentionSeconds')::int, q.retention_seconds, 1209600) * interval '1s'),
              coalesce(($4->>'retryLimit')::int, q.retry_limit, 2),
              coalesce(($4->>'retryDelay')::int, q.retry_delay, 0),
              coalesce(($4->>'retryBackoff')::boolean, q.retry_backoff, false),
              coalesce(($4->>'retryDelayMax')::int, q.retry_delay_max),
              q.policy,
              coalesce($4->>'deadLetter', q.dead_letter),
              coalesce(($4->>'heartbeatSeconds')::int, q.heartbeat_seconds),
              false, false, 0, null
            from unnest($1::uuid[], $5::jsonb[]) as j(id, data)
            cross join (select coalesce($6::timestamptz, %1$I.job_now() + coalesce($7::numeric, 0) * interval '1 millisecond') as start_after) s
            left join %1$I.queue q on q.name = $2
            on conflict do nothing
            returning start_after
          )
          select count(*) filter (where start_after <= %1$I.job_now()) from ins
        $ins$, boss, q_table)
        into ready
        using fresh_ids, v_queue, v_boss_priority, v_job_options, fresh_data, add_tasks.start_after, v_delay_ms;
        -- pg-boss's wake-up: one NOTIFY per statement with ready work, on its channel for its schema,
        -- delivered by PostgreSQL at commit (and dropped on rollback).
        if ready > 0 and q_notify and (cfg->>'listenNotify')::boolean then
          perform pg_notify('pgboss_' || left(encode(sha224(convert_to(boss, 'UTF8')), 'hex'), 24), v_queue);
        end if;
      end if;

      return query
        select r.id, r.dedup, v_status
        from unnest(ids, dedup) with ordinality as r(id, dedup, ord)
        order by r.ord;
    end
    $fn$`.execute(db)

  await sql`
    create function ${fn('add_task')}(
      task text,
      args jsonb default null,
      priority text default null,
      start_after timestamptz default null,
      delay interval default null,
      idempotency_key text default null,
      queue text default null,
      defer_check boolean default false,
      out task_id uuid,
      out deduplicated boolean,
      out status text
    )
    language sql volatile
    set search_path = pg_catalog, pg_temp
    as $fn$
      select r.task_id, r.deduplicated, r.status
      from ${fn('add_tasks')}(task, array[args], priority, start_after, delay,
        case when idempotency_key is null then null else array[idempotency_key] end, queue, defer_check) r
    $fn$`.execute(db)

  for (const [name, text] of Object.entries(COMMENTS)) {
    const kind = name.includes('(') ? 'function' : 'table'
    await sql`comment on ${sql.raw(`${kind} ${schema}.${name}`)} is ${sql.lit(text)}`.execute(db)
  }
}

const COMMENTS: Record<string, string> = {
  task_definition:
    'tasklane: task defaults published by each process at start, read by add_task (docs/enqueue.md)',
  setting: 'tasklane: deployment settings the SQL API reads, published at start (docs/enqueue.md)',
  'add_task(text, jsonb, text, timestamptz, interval, text, text, boolean)':
    'tasklane: enqueue one task in the current transaction (docs/enqueue.md)',
  'add_tasks(text, jsonb[], text, timestamptz, interval, text[], text, boolean)':
    'tasklane: enqueue one task per args entry in the current transaction (docs/enqueue.md)',
}

export async function down(db: Kysely<any>, schema: string): Promise<void> {
  await sql`drop function if exists ${sql.id(schema, 'add_task')}(text, jsonb, text, timestamptz, interval, text, text, boolean)`.execute(
    db,
  )
  await sql`drop function if exists ${sql.id(schema, 'add_tasks')}(text, jsonb[], text, timestamptz, interval, text[], text, boolean)`.execute(
    db,
  )
  await sql`drop table if exists ${sql.table(`${schema}.setting`)}`.execute(db)
  await sql`drop table if exists ${sql.table(`${schema}.task_definition`)}`.execute(db)
}
