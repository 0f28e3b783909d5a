-- Lever (b): the whole settle in one statement, one round trip (an implicit transaction): the
-- completion (a DELETE of the job row (levers a + b)), the history rows of the jobs it settled, and the status events.
with done as (
  DELETE FROM pgboss.job_common
  WHERE name = 'default'
    AND id = ANY(:ids::uuid[])
    AND state = 'active'
    AND (id::text || ':' || retry_count::text) = ANY(:keys::text[])
  RETURNING id
),
history as (
  insert into "tasklane"."task_history" ("task_id", "task", "queue", "priority", "status", "args", "result", "error", "attempts", "max_attempts", "created_at", "start_after", "started_at", "finished_at", "wait_ms", "duration_ms", "worker_id", "cpu_ms", "peak_memory_mb", "dead_letter")
  select "task_id", "task", "queue", "priority", "status", "args", "result", "error", "attempts", "max_attempts", date_trunc('milliseconds', created_at), "start_after", "started_at", "finished_at", "wait_ms", "duration_ms", "worker_id", "cpu_ms", "peak_memory_mb", "dead_letter"
  from jsonb_to_recordset(:history::jsonb) as x(task_id uuid, task text, queue text, priority integer, status text, args jsonb, result jsonb, error jsonb, attempts integer, max_attempts integer, created_at timestamptz, start_after timestamptz, started_at timestamptz, finished_at timestamptz, wait_ms integer, duration_ms integer, worker_id text, cpu_ms real, peak_memory_mb real, dead_letter text)
  where x.task_id in (select id from done)
  on conflict ("task_id", "finished_at", "status") do nothing
  returning 1
),
events as (
  select pg_notify('tasklane_events', m) from unnest(:completed::text[]) m
)
select (select count(*) from done) as settled, (select count(*) from history) as recorded,
  (select count(*) from events) as notified;
