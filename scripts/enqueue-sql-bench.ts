// Enqueue throughput of the SQL API (tasklane.add_task, add_tasks) beside addTask/addTasks, on a
// database of its own (issue 16). No workers run: this measures writing tasks, nothing else.
//
//   npx tsx scripts/enqueue-sql-bench.ts                 N=5000 per figure, 3 rounds, medians
//   npx tsx scripts/enqueue-sql-bench.ts --n=2000 --rounds=1
//
// Figures (tasks per second, median of rounds):
//   add_task, 1 connection      one statement (its own transaction) per task, awaited in turn
//   add_task, 8 connections     the same from 8 connections at once
//   add_task, 1 transaction     N calls inside one BEGIN … COMMIT (the per-call cost without a commit)
//   add_tasks, batches of 500   one statement per 500 tasks
//   addTask, sequential         awaited one at a time (each its own commit)
//   addTask, 8 at a time        8 calls in flight (group commit gathers them)
//   addTasks, batches of 500
// BENCH_ADMIN_URL picks the server (default postgres://postgres@127.0.0.1:5432/postgres).
import pg from 'pg'
import { loadConfig } from '../src/config.ts'
import { migrateToLatest } from '../src/db/migrate.ts'
import { createLogger } from '../src/logger.ts'
import { createTasklane } from '../src/tasklane.ts'
import { defineTask } from '../src/tasks/define-task.ts'
import { createDatabase, dbName, dropDatabase } from './bench/db.ts'

const option = (name: string, fallback: number) => {
  const raw = process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1]
  return raw === undefined ? fallback : Number(raw)
}
const N = option('n', 5000)
const ROUNDS = option('rounds', 3)
const BATCH = 500
const CONNECTIONS = 8

const bench = defineTask({ name: 'bench-enqueue', async run() {} })

type Figure = { name: string; run(n: number): Promise<void> }

async function main() {
  const name = dbName('enqueue_sql')
  const url = await createDatabase(name)
  const log = createLogger('silent')
  await migrateToLatest({
    connectionString: url,
    schema: 'tasklane',
    bossSchema: 'pgboss',
    dbBackend: 'postgres',
    log,
  })
  const tasks = createTasklane({
    config: loadConfig({ DATABASE_URL: url, LOG_LEVEL: 'silent' }),
    tasks: [bench],
    workers: 0,
    migrate: false,
    logger: log,
  })
  await tasks.start()
  const pool = new pg.Pool({ connectionString: url, max: CONNECTIONS })
  const args = (i: number) => ({ i, user: `u${i}` })
  const inParallel = async (n: number, k: number, one: (i: number) => Promise<unknown>) => {
    let next = 0
    await Promise.all(
      Array.from({ length: k }, async () => {
        while (next < n) await one(next++)
      }),
    )
  }
  const batches = async (n: number, each: (from: number, to: number) => Promise<unknown>) => {
    for (let from = 0; from < n; from += BATCH) await each(from, Math.min(n, from + BATCH))
  }
  const figures: Figure[] = [
    {
      name: 'add_task, 1 connection',
      run: async (n) => {
        const c = await pool.connect()
        try {
          for (let i = 0; i < n; i++)
            await c.query(`select tasklane.add_task('bench-enqueue', $1)`, [JSON.stringify(args(i))])
        } finally {
          c.release()
        }
      },
    },
    {
      name: `add_task, ${CONNECTIONS} connections`,
      run: (n) =>
        inParallel(n, CONNECTIONS, (i) =>
          pool.query(`select tasklane.add_task('bench-enqueue', $1)`, [JSON.stringify(args(i))]),
        ),
    },
    {
      name: 'add_task, 1 transaction',
      run: async (n) => {
        const c = await pool.connect()
        try {
          await c.query('BEGIN')
          for (let i = 0; i < n; i++)
            await c.query(`select tasklane.add_task('bench-enqueue', $1)`, [JSON.stringify(args(i))])
          await c.query('COMMIT')
        } finally {
          c.release()
        }
      },
    },
    {
      name: `add_tasks, batches of ${BATCH}`,
      run: (n) =>
        batches(n, (from, to) =>
          pool.query(`select count(*) from tasklane.add_tasks('bench-enqueue', $1::jsonb[])`, [
            Array.from({ length: to - from }, (_, k) => JSON.stringify(args(from + k))),
          ]),
        ),
    },
    {
      name: 'addTask, sequential',
      run: async (n) => {
        for (let i = 0; i < n; i++) await tasks.addTask(bench, args(i))
      },
    },
    {
      name: `addTask, ${CONNECTIONS} at a time`,
      run: (n) => inParallel(n, CONNECTIONS, (i) => tasks.addTask(bench, args(i))),
    },
    {
      name: `addTasks, batches of ${BATCH}`,
      run: (n) =>
        batches(n, (from, to) =>
          tasks.addTasks(
            bench,
            Array.from({ length: to - from }, (_, k) => args(from + k)),
          ),
        ),
    },
  ]
  const results = new Map<string, number[]>()
  try {
    for (const f of figures) await f.run(Math.min(200, N)) // warm-up: plans, pools, JIT
    for (let round = 0; round < ROUNDS; round++) {
      for (const f of figures) {
        // Each figure starts from an empty job table, so none pays for another's rows.
        await pool.query('truncate pgboss.job')
        await pool.query('vacuum analyze pgboss.job')
        const started = performance.now()
        await f.run(N)
        const perSecond = N / ((performance.now() - started) / 1000)
        results.set(f.name, [...(results.get(f.name) ?? []), perSecond])
        process.stderr.write(`round ${round + 1}: ${f.name}: ${Math.round(perSecond)} tasks/s\n`)
      }
    }
  } finally {
    await pool.end()
    await tasks.stop()
    await dropDatabase(name)
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
  console.log(`\nEnqueue throughput, ${N} tasks per figure, median of ${ROUNDS} round(s)\n`)
  console.log('| path | tasks/s |\n|---|---:|')
  for (const [figure, xs] of results) console.log(`| ${figure} | ${Math.round(median(xs))} |`)
}

await main()
