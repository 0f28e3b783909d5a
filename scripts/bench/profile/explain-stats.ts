// EXPLAIN (ANALYZE, BUFFERS) of every statement behind GET /stats and GET /analytics, captured
// from the real repository functions, on a database holding a large history (fillHistory()).
//
//   npx tsx scripts/bench/profile/explain-stats.ts postgres://…/db_with_history [--window=24h] [--bucket=1h]
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import { parseDuration } from '../../../src/duration.ts'
import { computeAnalytics, computeTaskStats } from '../../../src/stats/stats.service.ts'

const url = process.argv[2]
if (!url) throw new Error('usage: explain-stats.ts DATABASE_URL')
const option = (name: string, fallback: string) =>
  process.argv
    .find((a) => a.startsWith(`--${name}=`))
    ?.split('=')
    .slice(1)
    .join('=') ?? fallback
const pool = new pg.Pool({ connectionString: url, max: 1 })
const captured: { sql: string; parameters: readonly unknown[] }[] = []
// biome-ignore lint/suspicious/noExplicitAny: the stats functions take tasklane's Database; any schema reads here
const db = new Kysely<any>({
  dialect: new PostgresDialect({ pool }),
  log: (e) => {
    if (e.level === 'query') captured.push({ sql: e.query.sql, parameters: e.query.parameters })
  },
}).withSchema('tasklane')
const deps = {
  db,
  bossSchema: 'pgboss',
  queues: ['default'],
  windowMs: 300_000,
  heartbeatTimeoutMs: 30_000,
  startedAt: new Date(),
}
for (const [label, call] of [
  ['stats', () => computeTaskStats(deps as never)],
  [
    'analytics',
    () =>
      computeAnalytics(deps as never, {
        windowMs: parseDuration(option('window', '24h'))!,
        bucketMs: parseDuration(option('bucket', '1h'))!,
      }),
  ],
] as const) {
  captured.length = 0
  const t0 = performance.now()
  await call()
  console.log(`== ${label}: ${(performance.now() - t0).toFixed(1)} ms, ${captured.length} statements`)
  for (const q of [...captured]) {
    const { rows } = await pool.query(
      `explain (analyze, buffers, costs off) ${q.sql}`,
      q.parameters as unknown[],
    )
    const plan = rows.map((r) => r['QUERY PLAN'] as string)
    console.log(`-- ${q.sql.replace(/\s+/g, ' ').slice(0, 100)}…\n${plan.join('\n')}\n`)
  }
}
await db.destroy()
