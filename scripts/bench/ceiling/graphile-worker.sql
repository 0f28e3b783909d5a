-- graphile-worker 0.18's per-job SQL for the same drain (captured: localQueue of 500, batched
-- completion): the batch lock (its getJobs text for batchSize 500) and the batch DELETE. Two
-- statements, two round trips, no explicit transaction; graphile-worker prepares both (-M prepared).
-- Variables: :taskid (the bench task's id in _private_tasks).
with j_raw as (
  select jobs.job_queue_id, jobs.priority, jobs.run_at, jobs.id
    from "graphile_worker"._private_jobs as jobs
    where jobs.is_available = true
    and run_at <= now()
    and task_id = any(array[:taskid]::int[])
    and (
      jobs.job_queue_id is null
      or
      jobs.job_queue_id in (
        select id
        from "graphile_worker"._private_job_queues as job_queues
        where job_queues.is_available = true
        for update
        skip locked
      )
    )
    order by priority asc, run_at asc
    limit 500
    for update
    skip locked
),
j as (
  select distinct on (job_queue_id, case when job_queue_id is null then id end)
      job_queue_id, priority, run_at, id
    from j_raw
    order by job_queue_id, case when job_queue_id is null then id end, priority asc, run_at asc
),
q as (
  update "graphile_worker"._private_job_queues as job_queues
    set
      locked_by = 'ceiling',
      locked_at = now()
    from j
    where job_queues.id = j.job_queue_id
),
locked as (
  update "graphile_worker"._private_jobs as jobs
    set
      attempts = jobs.attempts + 1,
      locked_by = 'ceiling',
      locked_at = now()
    from j
    where jobs.id = j.id
    -- graphile sends `returning *` (jobs.* and j.*), spelled out: the wrapper needs unique names
    returning
      jobs.*, j.job_queue_id as j_queue, j.priority as j_priority, j.run_at as j_run_at, j.id as j_id
)
select coalesce(array_agg(id), '{}')::text as gids from locked
\gset
delete from "graphile_worker"._private_jobs as jobs
using unnest(:gids::bigint[]) n(n)
where id = n;
