import type { TestDatabase } from '../../support/database.ts'

/** Rows in every table a request could write to (worker_process is left out: heartbeats write it). */
export async function rowCounts(db: TestDatabase): Promise<Record<string, number>> {
  const { rows } = await db.query<{ t: string; n: number }>(`
    select 'pgboss.job' as t, count(*)::int as n from pgboss.job
    union all select 'task_history', count(*)::int from tasklane.task_history
    union all select 'task_attempt', count(*)::int from tasklane.task_attempt
    union all select 'task_progress', count(*)::int from tasklane.task_progress
    union all select 'idempotency_key', count(*)::int from tasklane.idempotency_key`)
  return Object.fromEntries(rows.map((r) => [r.t, r.n]))
}
