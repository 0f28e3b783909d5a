// stats-10m: reporting at scale (issue 18). 10,000,000 history rows over 90 days in monthly
// partitions, the 90 days folded into the daily rollup by maintenance's own code, and 2 years of
// rollups before them; then GET /stats and GET /analytics (24 h / 1 h) from a separate API process,
// the documented 365-day per-task percentile query in SQL, and the retention pass dropping one whole
// month of history. Targets: /stats p99 < 50 ms, /analytics p99 < 100 ms, 365-day SQL < 200 ms, a
// month's retention < 1 s (docs/benchmarks.md).
import pg from 'pg'
import { createDb } from '../../src/db/create-db.ts'
import { dropExpiredPartitions } from '../../src/history/partition.repository.ts'
import { createLogger } from '../../src/logger.ts'
import { Maintenance } from '../../src/worker/maintenance.ts'
import { fillRollup } from '../../test/stats/fixtures/fill-rollup.ts'
import { jobStoreFor } from '../../test/support/job-store.ts'
import { startChild } from './child.ts'
import { fig, type Scenario } from './scenarios.ts'
import { percentile } from './stats.ts'
import type { Figure } from './system.ts'
import { fillHistory } from './tasklane.scenarios.ts'

const NAME = 'stats-10m'
const DAY = 86_400_000

/** The documented "percentiles per task over the last 365 days" query (docs/sql.md). */
export const YEAR_PERCENTILES = `
  select task, sum(completed) as completed, sum(failed) as failed,
    tasklane.histogram_percentile(tasklane.histogram_sum(run_hist), 0.50) as p50_run_ms,
    tasklane.histogram_percentile(tasklane.histogram_sum(run_hist), 0.95) as p95_run_ms,
    tasklane.histogram_percentile(tasklane.histogram_sum(run_hist), 0.99) as p99_run_ms,
    tasklane.histogram_percentile(tasklane.histogram_sum(wait_hist), 0.95) as p95_wait_ms
  from tasklane.task_rollup
  where day >= current_date - 365
  group by task
  order by task`

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now()
  await fn()
  return performance.now() - t
}

async function timeGets(base: string, path: string, n: number): Promise<number[]> {
  const samples: number[] = []
  for (let i = 0; i < n + 2; i++) {
    const t0 = performance.now()
    const res = await fetch(`${base}${path}`)
    const body = await res.text()
    const ms = performance.now() - t0
    if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${body.slice(0, 300)}`)
    if (i >= 2) samples.push(ms) // the first two warm the plan cache
  }
  return samples
}

export const stats10m: Scenario = {
  name: NAME,
  systems: ['tasklane'],
  async run(_system, { scale, dbUrl }) {
    const figures: Figure[] = []
    const client = new pg.Client({ connectionString: dbUrl })
    await client.connect()
    const db = createDb({ connectionString: dbUrl, schema: 'tasklane', max: 2 })
    try {
      // History first (the install's last 90 days), then fold it as maintenance would have, day by day.
      await client.query(`update tasklane.rollup_state set folded_before = current_date - ${scale.scaleDays}`)
      const fillMs = await timed(() => fillHistory(dbUrl, scale.scaleRows, scale.scaleDays))
      figures.push(fig(NAME, 'tasklane', fillMs / 1000, 'fill history s'))
      const maintenance = new Maintenance({
        db: db.kysely,
        store: jobStoreFor(db.kysely, { bossSchema: 'pgboss', schema: 'tasklane' }),
        queues: () => ['default'],
        config: {
          schema: 'tasklane',
          retentionCompletedMs: 3650 * DAY,
          retentionFailedMs: 3650 * DAY,
          retentionRollupMs: 3650 * DAY,
        },
        log: createLogger('silent'),
        foldGraceMs: 0,
      })
      let days = 0
      const foldMs = await timed(async () => {
        days = await maintenance.foldOnce()
      })
      figures.push(fig(NAME, 'tasklane', foldMs / Math.max(1, days), 'fold one day ms'))
      // Two years of rollups before the history.
      await fillRollup((q, v) => client.query(q, v as unknown[]), {
        days: scale.rollupDays,
        tasks: 8,
        beforeDaysAgo: scale.scaleDays,
      })
      await client.query('vacuum analyze tasklane.task_history, tasklane.task_attempt, tasklane.task_rollup')

      const server = await startChild<{ port: number }>('http-server', { DATABASE_URL: dbUrl, WORKERS: '0' })
      try {
        const base = `http://127.0.0.1:${server.ready.port}`
        for (const [label, path, n] of [
          ['stats', '/stats', scale.statsRequests],
          ['analytics', '/analytics', scale.statsRequests],
          [
            'analytics-365d',
            '/analytics?window=365d&bucket=1d',
            Math.max(3, Math.ceil(scale.statsRequests / 4)),
          ],
        ] as const) {
          const samples = await timeGets(base, path, n)
          figures.push(fig(NAME, 'tasklane', percentile(samples, 50), `${label} p50 ms`))
          figures.push(fig(NAME, 'tasklane', percentile(samples, 99), `${label} p99 ms`))
        }
      } finally {
        await server.stop()
      }

      const sqlSamples: number[] = []
      for (let i = 0; i < Math.max(3, Math.ceil(scale.statsRequests / 4)) + 1; i++) {
        const ms = await timed(() => client.query(YEAR_PERCENTILES))
        if (i > 0) sqlSamples.push(ms)
      }
      figures.push(fig(NAME, 'tasklane', percentile(sqlSamples, 50), 'sql 365-day percentiles p50 ms'))
      figures.push(fig(NAME, 'tasklane', percentile(sqlSamples, 99), 'sql 365-day percentiles p99 ms'))

      // Retention: the oldest (partial) month first, then a whole month, timed. Cutoffs at month starts.
      const { rows } = await client.query<{ m1: Date; m2: Date }>(
        `
        select date_trunc('month', (now() - make_interval(days => $1)) at time zone 'UTC') at time zone 'UTC' + interval '1 month' as m1,
               date_trunc('month', (now() - make_interval(days => $1)) at time zone 'UTC') at time zone 'UTC' + interval '2 months' as m2`,
        [scale.scaleDays],
      )
      const { m1, m2 } = rows[0]!
      await dropExpiredPartitions(db.kysely, { completedBefore: m1, failedBefore: m1 })
      const [{ n }] = (
        await client.query<{ n: string }>(
          `select count(*) as n from tasklane.task_history where finished_at >= $1 and finished_at < $2`,
          [m1, m2],
        )
      ).rows as [{ n: string }]
      let dropped: string[] = []
      const dropMs = await timed(async () => {
        dropped = (await dropExpiredPartitions(db.kysely, { completedBefore: m2, failedBefore: m2 })).dropped
      })
      if (dropped.length < 2)
        throw new Error(`${NAME}: expected a whole month dropped, got ${dropped.join(', ')}`)
      figures.push(fig(NAME, 'tasklane', dropMs, 'drop one month ms'))
      figures.push(fig(NAME, 'tasklane', Number(n), 'rows in the month dropped'))
      return figures
    } finally {
      await db.close()
      await client.end()
    }
  },
}
