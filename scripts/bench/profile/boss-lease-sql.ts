import { BENCH_QUEUE } from '../tasklane.system.ts'

interface BossPlans {
  fetchNextJob: (o: Record<string, unknown>) => { text: string; values: unknown[] } | string
}

/**
 * The lease statement pg-boss sends for a fetch of `limit` jobs from the bench queue (taken from its
 * own plan builder, so EXPLAIN and timing runs see exactly that SQL).
 */
export async function bossLeaseSql(limit: number): Promise<{ text: string; values: unknown[] }> {
  const plans = (await import('pg-boss/dist/plans.js' as string)) as BossPlans
  const plan = plans.fetchNextJob({
    schema: 'pgboss',
    table: 'job_common',
    name: BENCH_QUEUE,
    policy: 'standard',
    limit,
    includeMetadata: true,
  })
  return typeof plan === 'string' ? { text: plan, values: [] } : plan
}
