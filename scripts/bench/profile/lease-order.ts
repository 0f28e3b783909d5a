// The price of leasing ties in insertion order: pg-boss's lease (priority desc, created_on; ties in
// heap order) against tasklane's (…, id: src/queue/lease.repository.ts), one lease of 500 on a
// backlog whose statistics were taken while the queue was empty, with the planner guard of
// tasklane's pg-boss pool. Tasks added in one transaction share created_on, so the backlog's shape
// matters: `--tie=1000` adds it 1,000 per transaction (the drain scenario), `--tie=20000` in one.
//
//   npx tsx scripts/bench/profile/lease-order.ts [--backlog=20000] [--tie=1000]
import pg from 'pg'
import { leaseStatement } from '../../../src/queue/lease.repository.ts'
import { createDatabase, dbName, dropDatabase } from '../db.ts'
import { BENCH_QUEUE, TasklaneSystem } from '../tasklane.system.ts'
import { bossLeaseSql } from './boss-lease-sql.ts'

const arg = (name: string, fallback: number) =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback)
const BACKLOG = arg('backlog', 20_000)
const TIE = arg('tie', 1_000)
const BATCH = 500
const INDEX = process.argv.includes('--index')
const RUNS = 7

const name = dbName('profile', 'lease_order')
const url = await createDatabase(name)
const system = new TasklaneSystem()
await system.setup(url)
await system.teardown()
const client = new pg.Client({ connectionString: url })
await client.connect()
try {
  if (INDEX) {
    await client.query(`create index job_lease_order on pgboss.job (name, priority desc, created_on, id)
      where state < 'active' and not blocked`)
  }
  await client.query('analyze pgboss.job_common')
  const fillStart = performance.now()
  for (let done = 0; done < BACKLOG; done += TIE) {
    // One statement per tie group: each commits on its own, so each has its own created_on.
    await client.query(
      `insert into pgboss.job_common (id, name, data, priority)
       select gen_random_uuid(), $1, jsonb_build_object('task', 'bench', 'args', jsonb_build_object('t', i)), 0
       from generate_series(1, $2) i`,
      [BENCH_QUEUE, Math.min(TIE, BACKLOG - done)],
    )
  }
  const fillMs = performance.now() - fillStart
  const boss = await bossLeaseSql(BATCH)
  const ours = { text: leaseStatement('pgboss', 'job_common'), values: [BENCH_QUEUE, BATCH, 10, null] }
  const timings: Record<string, number[]> = { 'pg-boss': [], tasklane: [] }
  const plans: Record<string, string> = {}
  for (let run = 0; run < RUNS; run++) {
    for (const [label, q] of Object.entries({ 'pg-boss': boss, tasklane: ours })) {
      await client.query('begin')
      await client.query('set local enable_bitmapscan = off; set local enable_sort = off')
      const { rows } = await client.query(`explain (analyze, buffers, costs off) ${q.text}`, q.values)
      await client.query('rollback')
      const lines = rows.map((r) => r['QUERY PLAN'] as string)
      timings[label]!.push(Number(/([\d.]+) ms/.exec(lines.find((l) => l.startsWith('Execution Time'))!)![1]))
      plans[label] = lines
        .filter((l) => /Scan|Sort|Limit|LockRows|JIT|Timing/.test(l))
        .map((l) => l.trim())
        .join(' | ')
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
  console.log(
    `backlog ${BACKLOG}, ${TIE} per transaction${INDEX ? ', with job_lease_order' : ''} (filled in ${fillMs.toFixed(0)} ms), lease of ${BATCH}, median of ${RUNS}:`,
  )
  for (const label of Object.keys(timings)) {
    console.log(`  ${label}: ${median(timings[label]!).toFixed(2)} ms  (${plans[label]})`)
  }
} finally {
  await client.end()
  await dropDatabase(name)
}
process.exit(0)
