// The floor under tasklane's drain: the database statements it is made of, run back to back with
// no worker loop around them, on a fresh database with a preloaded backlog.
//
//   npx tsx scripts/bench/profile/primitives.ts [--tasks=20000] [--batch=500] [--explain]
//
//   lease+complete   pg-boss fetch(batch) then complete(ids): pg-boss's own minimum per task
//   lease+settle     the same, completing as tasklane's Settler does: complete + history rows +
//                    status NOTIFY in one transaction
//   --explain        EXPLAIN (ANALYZE, BUFFERS, WAL) of one lease and one settle of `batch` rows
//   --prepared       the single-row lease unnamed (as pg-boss sends it) vs as a prepared statement
//   --enqueue        one enqueue statement (pg-boss insert + NOTIFY) unnamed vs prepared vs a plain INSERT
//   --history-indexes  insertHistory() cost with each secondary index of task_history dropped in turn
import type { Kysely } from 'kysely'
import { createDb } from '../../../src/db/create-db.ts'
import type { Database } from '../../../src/db/database.ts'
import { notifyEvents } from '../../../src/events/notify.repository.ts'
import { insertHistory } from '../../../src/history/history.repository.ts'
import { createBoss, fromKysely, type PgBoss } from '../../../src/queue/boss.ts'
import { createDatabase, dbName, dropDatabase } from '../db.ts'
import { BENCH_QUEUE, benchLogger, TasklaneSystem } from '../tasklane.system.ts'
import { bossLeaseSql } from './boss-lease-sql.ts'

const arg = (name: string, fallback: number) =>
  Number(
    process.argv
      .find((a) => a.startsWith(`--${name}=`))
      ?.split('=')
      .slice(1)
      .join('=') ?? fallback,
  )
const TASKS = arg('tasks', 20_000)
const BATCH = arg('batch', 500)

async function preload(): Promise<{ name: string; url: string }> {
  const name = dbName('profile', 'primitives', process.pid, Math.floor(Math.random() * 1e6))
  const url = await createDatabase(name)
  const system = new TasklaneSystem()
  await system.setup(url)
  for (let i = 0; i < TASKS; i += 1000)
    await system.enqueueBatch(Array.from({ length: 1000 }, () => ({ t: 0 })))
  await system.teardown()
  return { name, url }
}

/** The fields of pg-boss's fetch({ includeMetadata: true }) rows that a settle needs. */
type LeasedRow = {
  id: string
  retryCount: number
  priority: number
  createdOn: Date
  startAfter: Date
  data: unknown
}
type Settle = (boss: PgBoss, db: Kysely<Database>, jobs: LeasedRow[]) => Promise<void>

const completeOnly: Settle = async (boss, _db, jobs) => {
  await boss.complete(
    BENCH_QUEUE,
    jobs.map((j) => j.id),
  )
}

const tasklaneSettle: Settle = async (boss, db, jobs) => {
  const at = new Date()
  await db.transaction().execute(async (trx) => {
    await boss.complete(
      BENCH_QUEUE,
      jobs.map((j) => ({ id: j.id, retryCount: j.retryCount })) as never,
      null,
      {
        db: fromKysely(trx),
      },
    )
    await insertHistory(
      trx,
      jobs.map((j) => ({
        taskId: j.id,
        task: 'bench',
        queue: BENCH_QUEUE,
        priority: j.priority,
        status: 'completed' as const,
        args: (j.data as { args: unknown }).args,
        result: null,
        attempts: 1,
        maxAttempts: 3,
        createdAt: new Date(j.createdOn),
        startAfter: new Date(j.startAfter),
        startedAt: at,
        finishedAt: at,
        workerId: 'primitives',
      })),
    )
    await notifyEvents(
      trx,
      jobs.map((j) => ({
        type: 'status',
        taskId: j.id,
        task: 'bench',
        queue: BENCH_QUEUE,
        status: 'completed',
        at: at.toISOString(),
      })),
    )
  })
}

async function loop(label: string, settle: Settle): Promise<void> {
  const { name, url } = await preload()
  const log = benchLogger()
  const boss = createBoss({
    connectionString: url,
    config: { bossSchema: 'pgboss', dbBackend: 'postgres', heartbeatTimeoutMs: 30_000 },
    supervise: false,
    log,
  })
  await boss.start()
  const db = createDb({ connectionString: url, schema: 'tasklane', max: 2 })
  try {
    let fetchMs = 0
    let settleMs = 0
    let done = 0
    const t0 = performance.now()
    for (;;) {
      const f0 = performance.now()
      const jobs = (await boss.fetch(BENCH_QUEUE, {
        batchSize: BATCH,
        includeMetadata: true,
      })) as unknown as LeasedRow[]
      fetchMs += performance.now() - f0
      if (jobs.length === 0) break
      const s0 = performance.now()
      await settle(boss, db.kysely, jobs)
      settleMs += performance.now() - s0
      done += jobs.length
    }
    const s = (performance.now() - t0) / 1000
    console.log(
      `${label.padEnd(16)} ${(done / s).toFixed(0).padStart(6)} tasks/s sequential  (lease ${((fetchMs / done) * 1000).toFixed(0)} µs/task, settle ${((settleMs / done) * 1000).toFixed(0)} µs/task, batch ${BATCH})`,
    )
  } finally {
    await boss.stop({ graceful: false, close: true })
    await db.close()
    await dropDatabase(name)
  }
}

/** Captures the SQL and parameters pg-boss sends, to EXPLAIN exactly that. */
async function explain(): Promise<void> {
  const { name, url } = await preload()
  const pg = (await import('pg')).default
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    // The same session settings as tasklane's pg-boss pool (the planner guard).
    await client.query('set enable_bitmapscan = off; set enable_sort = off')
    const { text, values } = await bossLeaseSql(BATCH)
    await client.query('begin')
    const leased = await client.query(`explain (analyze, buffers, wal, costs off) ${text}`, values)
    console.log(`-- lease of ${BATCH}:\n${leased.rows.map((r) => r['QUERY PLAN']).join('\n')}`)
    // pg-boss's complete sets the same columns, selecting by id = any($2); every leased row here is the batch.
    const completed = await client.query(
      `explain (analyze, buffers, wal, costs off)
       update pgboss.job_common set completed_on = now(), state = 'completed', output = null
       where name = $1 and state = 'active'`,
      [BENCH_QUEUE],
    )
    console.log(
      `-- complete of the ${BATCH} leased:\n${completed.rows.map((r) => r['QUERY PLAN']).join('\n')}`,
    )
    await client.query('rollback')
    const indexes = await client.query<{ n: string }>(
      `select count(*) as n from pg_indexes where schemaname = 'pgboss' and tablename = 'job_common'`,
    )
    console.log(`pgboss.job_common carries ${indexes.rows[0]?.n} indexes`)
  } finally {
    await client.end()
    await dropDatabase(name)
  }
}

/**
 * The single-row lease as pg-boss sends it (unnamed statement: parsed and planned every time)
 * against the same text as a named prepared statement (planned once per connection).
 */
async function prepared(): Promise<void> {
  const { name, url } = await preload()
  const pg = (await import('pg')).default
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query('set enable_bitmapscan = off; set enable_sort = off')
    const { text, values } = await bossLeaseSql(1)
    const N = Math.min(TASKS / 2 - 10, 2000)
    for (const mode of ['unnamed', 'prepared', 'unnamed', 'prepared']) {
      const samples: number[] = []
      for (let i = 0; i < N / 2; i++) {
        const t0 = performance.now()
        await client.query(mode === 'prepared' ? { name: 'lease1', text, values } : { text, values })
        samples.push(performance.now() - t0)
      }
      samples.sort((a, b) => a - b)
      console.log(
        `lease of 1, ${mode.padEnd(8)}: p50 ${samples[Math.floor(samples.length / 2)]!.toFixed(3)} ms over ${samples.length}`,
      )
    }
  } finally {
    await client.end()
    await dropDatabase(name)
  }
}

/**
 * What each index on task_history costs the settle: insertHistory() of TASKS rows in batches,
 * with every index, then after dropping the secondary ones one at a time.
 */
async function historyIndexes(): Promise<void> {
  const { name, url } = await preload()
  const db = createDb({ connectionString: url, schema: 'tasklane', max: 1 })
  const pg = (await import('pg')).default
  const admin = new pg.Client({ connectionString: url })
  await admin.connect()
  try {
    const { rows } = await admin.query<{ indexname: string }>(
      `select indexname from pg_indexes where schemaname = 'tasklane' and tablename = 'task_history' and indexname <> 'task_history_pkey' order by indexname`,
    )
    const at = new Date()
    const row = (i: number) => ({
      taskId: crypto.randomUUID(),
      task: 'bench',
      queue: BENCH_QUEUE,
      priority: 0,
      status: 'completed' as const,
      args: { t: i },
      result: null,
      attempts: 1,
      maxAttempts: 3,
      createdAt: at,
      startAfter: at,
      startedAt: at,
      finishedAt: new Date(at.getTime() + i),
      workerId: 'host:12345:abcdef',
    })
    const time = async (label: string) => {
      await admin.query('truncate tasklane.task_history')
      const t0 = performance.now()
      for (let i = 0; i < TASKS; i += BATCH) {
        await insertHistory(
          db.kysely,
          Array.from({ length: BATCH }, (_, j) => row(i + j)),
        )
      }
      const us = ((performance.now() - t0) / TASKS) * 1000
      console.log(
        `history insert, ${label.padEnd(40)} ${us.toFixed(1)} µs/task (batches of ${BATCH}, autocommit)`,
      )
    }
    await time(`pk + ${rows.length} secondary indexes`)
    for (const [i, r] of rows.entries()) {
      await admin.query(`drop index tasklane.${r.indexname}`)
      await time(`pk + ${rows.length - i - 1} (dropped ${r.indexname})`)
    }
  } finally {
    await admin.end()
    await db.close()
    await dropDatabase(name)
  }
}

/**
 * One enqueue as tasklane sends it (pg-boss's insert statement with its NOTIFY, one job), unnamed
 * (parsed and planned every call) and prepared, against a plain single-row INSERT of the same row.
 */
async function enqueueStatement(): Promise<void> {
  const { name, url } = await preload()
  const pg = (await import('pg')).default
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const plans = (await import('pg-boss/dist/plans.js' as string)) as {
      insertJobs: (schema: string, o: Record<string, unknown>) => string
    }
    const text = plans.insertJobs('pgboss', {
      table: 'job_common',
      name: BENCH_QUEUE,
      returnId: false,
      notify: true,
    })
    const job = () => [
      JSON.stringify([
        {
          id: crypto.randomUUID(),
          data: { task: 'bench', args: { t: 0 } },
          priority: 0,
          retryLimit: 2,
          retryDelay: 1,
          retryBackoff: false,
          expireInSeconds: 86400,
          heartbeatSeconds: 30,
        },
      ]),
    ]
    const plain = `insert into pgboss.job_common (id, name, data) values ($1, '${BENCH_QUEUE}', $2)`
    const N = 500
    for (const mode of [
      'pg-boss unnamed',
      'pg-boss prepared',
      'plain INSERT',
      'pg-boss unnamed',
      'pg-boss prepared',
      'plain INSERT',
    ]) {
      const samples: number[] = []
      for (let i = 0; i < N; i++) {
        const t0 = performance.now()
        if (mode === 'plain INSERT')
          await client.query(plain, [crypto.randomUUID(), JSON.stringify({ task: 'bench', args: { t: 0 } })])
        else
          await client.query(
            mode.endsWith('prepared') ? { name: 'enqueue1', text, values: job() } : { text, values: job() },
          )
        samples.push(performance.now() - t0)
      }
      samples.sort((a, b) => a - b)
      console.log(
        `enqueue of 1, ${mode.padEnd(16)}: p50 ${samples[N / 2]!.toFixed(3)} ms, p95 ${samples[Math.floor(N * 0.95)]!.toFixed(3)} ms`,
      )
    }
  } finally {
    await client.end()
    await dropDatabase(name)
  }
}

if (process.argv.includes('--enqueue')) await enqueueStatement()
else if (process.argv.includes('--history-indexes')) await historyIndexes()
else if (process.argv.includes('--explain')) await explain()
else if (process.argv.includes('--prepared')) await prepared()
else {
  await loop('lease+complete', completeOnly)
  await loop('lease+settle', tasklaneSettle)
  await loop('lease+complete', completeOnly)
  await loop('lease+settle', tasklaneSettle)
}
process.exit(0)
