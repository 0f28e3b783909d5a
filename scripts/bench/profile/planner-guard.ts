// The planner guard on tasklane's pg-boss pool (src/queue/boss.ts: enable_bitmapscan and
// enable_sort off), measured: pg-boss's lease of 500 on a backlog whose statistics were taken while
// the queue was empty (a fresh deployment), with and without the guard.
//
//   npx tsx scripts/bench/profile/planner-guard.ts [--backlog=200000]
import pg from 'pg'
import { createDatabase, dbName, dropDatabase } from '../db.ts'
import { BENCH_QUEUE, TasklaneSystem } from '../tasklane.system.ts'
import { bossLeaseSql } from './boss-lease-sql.ts'

const BACKLOG = Number(
  process.argv
    .find((a) => a.startsWith('--backlog='))
    ?.split('=')
    .slice(1)
    .join('=') ?? 200_000,
)
const BATCH = 500

const name = dbName('profile', 'guard')
const url = await createDatabase(name)
const system = new TasklaneSystem()
await system.setup(url)
await system.teardown()
const client = new pg.Client({ connectionString: url })
await client.connect()
try {
  // Statistics of the empty queue, as autovacuum leaves them right after deployment.
  await client.query('analyze pgboss.job_common')
  // The backlog, written the way pg-boss writes jobs (defaults for every column we don't give).
  await client.query(
    `insert into pgboss.job_common (id, name, data, priority)
     select gen_random_uuid(), $1, jsonb_build_object('task', 'bench', 'args', jsonb_build_object('t', i)), 0
     from generate_series(1, $2) i`,
    [BENCH_QUEUE, BACKLOG],
  )
  const { text, values } = await bossLeaseSql(BATCH)
  for (const guard of [false, true, false, true]) {
    await client.query('begin')
    await client.query(guard ? 'set local enable_bitmapscan = off; set local enable_sort = off' : 'select 1')
    const { rows } = await client.query(`explain (analyze, buffers, costs off) ${text}`, values)
    await client.query('rollback')
    const lines = rows.map((r) => r['QUERY PLAN'] as string)
    const scan = lines.find((l) => /Scan/.test(l))?.trim()
    const exec = lines.find((l) => l.startsWith('Execution Time'))
    const buffers = lines.find((l) => l.trim().startsWith('Buffers'))?.trim()
    console.log(`guard ${guard ? 'on ' : 'off'}: ${exec}; ${buffers}; first scan: ${scan}`)
  }
} finally {
  await client.end()
  await dropDatabase(name)
}
process.exit(0)
