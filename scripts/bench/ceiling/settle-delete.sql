-- Lever (a): the same transaction, the job row deleted instead of pg-boss's complete UPDATE (the
-- history row is the record). Same fence: state active and the claimed retry_count.
begin;
WITH results AS (
  DELETE FROM pgboss.job_common
  WHERE name = 'default'
    AND id = ANY(:ids::uuid[])
    AND state = 'active'
    AND (id::text || ':' || retry_count::text) = ANY(:keys::text[])
  RETURNING id
)
SELECT COUNT(*), COALESCE(array_agg(id), '{}'::uuid[]) AS ids FROM results;
