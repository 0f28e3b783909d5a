-- tasklane's settle today (src/worker/settler.ts): one transaction, four statements and five round
-- trips: BEGIN, pg-boss's complete (its text as captured from pg-boss 12.38), the history rows
-- (src/history/history.repository.ts insertHistory), the status events, COMMIT.
begin;
WITH results AS (
  UPDATE pgboss.job_common
  SET completed_on = pgboss.job_now(),
    state = 'completed',
    output = null::jsonb,
    blocked = blocked,
    pending_dependencies = pending_dependencies
  WHERE name = 'default'
    AND id = ANY(:ids::uuid[])
    AND state = 'active'
    AND state = 'active'
    AND (id::text || ':' || retry_count::text) = ANY(:keys::text[])
  RETURNING id
)
SELECT COUNT(*), COALESCE(array_agg(id), '{}'::uuid[]) AS ids FROM results;
