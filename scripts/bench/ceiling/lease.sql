-- tasklane's lease (src/queue/lease.repository.ts leaseStatement, text as captured), unchanged but
-- for the owner stamp (a drain without the owner lock sends none) and
-- for the last lines: the leased rows are folded into pgbench variables for the settle that follows
-- (the ids, pg-boss's "id:retry_count" fence keys, the history rows and the status-event payloads
-- a worker would build in Node). That fold is extra server work the real lease does not do, so the
-- ceilings measured with it are slightly low, never high.
-- Variables: :batch (lease size), :startnow (how many go straight to a slot).
with next as materialized (
  select j.id
  from "pgboss"."job_common" j
  where j.name = 'default' and j.state < 'active' and not j.blocked and j.start_after <= "pgboss".job_now()
  order by j.priority desc, j.created_on, j.id
  limit :batch
  for update of j skip locked
),
leased as (
  update "pgboss"."job_common" j set
    state = 'active',
    started_on = case when j.id = any(array(select id from next limit :startnow)) then "pgboss".job_now() end,
    heartbeat_on = "pgboss".job_now(),
    retry_count = case when j.started_on is not null then j.retry_count + 1 else j.retry_count end
  where j.name = 'default' and j.id = any(array(select id from next))
  returning j.id, j.data, j.priority, j.retry_count, j.retry_limit, j.retry_delay,
    j.retry_backoff, j.retry_delay_max, j.created_on,
    (extract(epoch from j.created_on) * 1000000)::int8::text as created_us,
    j.start_after, "pgboss".job_now() as leased_at, j.started_on is not null as started,
    j.heartbeat_seconds, j.dead_letter, j.source_id, j.source_name
),
events as (
  -- ~100 status tuples per NOTIFY payload, as notify.repository.ts packs them (7,500 bytes).
  select rank / 100 as part,
    string_agg(format('["%s","bench","default","running",1]', id), ',') as running,
    string_agg(format('["%s","bench","default","completed"]', id), ',') as completed
  from (select id, row_number() over () as rank from leased) numbered group by 1
)
select
  (select count(*) from leased) as leased,
  (select coalesce(array_agg(id), '{}')::text from leased) as ids,
  (select coalesce(array_agg(id::text || ':' || retry_count::text), '{}')::text from leased) as keys,
  (select coalesce(jsonb_agg(jsonb_build_object(
    'task_id', id, 'task', 'bench', 'queue', 'default', 'priority', priority, 'status', 'completed',
    'args', data->'args', 'result', null, 'error', null, 'attempts', 1, 'max_attempts', retry_limit + 1,
    'created_at', created_on, 'start_after', start_after, 'started_at', leased_at,
    'finished_at', leased_at, 'wait_ms', 0, 'duration_ms', 0, 'worker_id', 'ceiling',
    'cpu_ms', null, 'peak_memory_mb', null, 'dead_letter', null)), '[]')::text from leased) as history,
  (select coalesce(array_agg('{"type":"status-batch","at":"' || now() || '","e":[' || running || ']}'), '{}')::text
    from events) as running,
  (select coalesce(array_agg('{"type":"status-batch","at":"' || now() || '","e":[' || completed || ']}'), '{}')::text
    from events) as completed
\gset
-- The 'running' events of the handlers that start (src/worker/queue-runner.ts publishes them
-- outside any settle, batched: one autocommit statement here; a drain at defaults sends ~4 per 500).
select pg_notify('tasklane_events', m) from unnest(:running::text[]) m;
