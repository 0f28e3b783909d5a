// The ceiling on pg-boss's tables (issue 13): how many tasks/s the SQL of tasklane's drain allows
// when nothing but that SQL runs, as pgbench scripts (scripts/bench/ceiling/*.sql), beside the real
// drains of tasklane and graphile-worker in the same run, and the levers worth building measured
// the same way before anyone builds them:
//
//   sql: tasklane          lease of B (tasklane's statement) + running NOTIFY + settle as today
//                          (BEGIN; pg-boss complete UPDATE; history INSERT; status NOTIFY; COMMIT)
//   sql: delete            lever (a): the settle deletes the job row instead of pg-boss's UPDATE
//   sql: 1-trip settle     lever (b): the settle as one statement (complete + history + NOTIFY)
//   sql: delete, 1-trip    levers (a) and (b) together
//   sql: graphile-worker   graphile-worker 0.18's batch lock + batch DELETE on its own table
//   drain: tasklane / graphile-worker   the drain scenario itself (in this process, defaults)
//
// Every variant drains the same preloaded backlog: one template database (tasklane's migration,
// graphile-worker's schema, scale.drainTasks jobs of each added as the drain scenario adds them,
// 1,000 per transaction) copied for each run (CREATE DATABASE … TEMPLATE). pgbench runs 2 clients
// (a worker keeps one lease and one settle in flight), -M extended for tasklane's statements
// (unnamed, as pg-boss and Kysely send them) and -M prepared for graphile-worker's (it prepares
// them); the lease carries the planner settings of tasklane's pg-boss pool; the template is
// ANALYZEd after the load. Variants alternate,
// `reps` times per round; each figure is the median of its reps.
//
//   npx tsx scripts/bench.ts --quick --scenario=task-ceiling --system=tasklane
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'
import { ADMIN_URL, createDatabase, dbName, dropDatabase, urlFor } from './db.ts'
import { GraphileWorkerSystem } from './graphile-worker.system.ts'
import { PGBENCH, pgbenchAvailable } from './pg-ceiling.ts'
import { drain, fig, type Scenario, type ScenarioContext } from './scenarios.ts'
import { median } from './stats.ts'
import type { BenchSystem, Figure } from './system.ts'
import { TasklaneSystem } from './tasklane.system.ts'

const run = promisify(execFile)
const DIR = new URL('./ceiling/', import.meta.url)
/** Tasks per lease and per settle: tasklane's largest (the default prefetch's cap and the Settler's maxBatch). */
const BATCH = 500
/** Handlers started by the lease itself (free slots at concurrency 10); the rest are buffered. */
const START_NOW = 10
const CLIENTS = 2
const PLANNER_OPTIONS = '-c enable_bitmapscan=off -c enable_sort=off'

interface SqlVariant {
  label: string
  files: string[]
  protocol: 'extended' | 'prepared'
  /** Live rows left / records written, checked after the run. */
  check: 'tasklane' | 'graphile-worker'
}

export const SQL_VARIANTS: SqlVariant[] = [
  { label: 'tasklane', files: ['lease', 'settle', 'history'], protocol: 'extended', check: 'tasklane' },
  { label: 'delete', files: ['lease', 'settle-delete', 'history'], protocol: 'extended', check: 'tasklane' },
  { label: '1-trip settle', files: ['lease', 'settle-one'], protocol: 'extended', check: 'tasklane' },
  { label: 'delete, 1-trip', files: ['lease', 'settle-one-delete'], protocol: 'extended', check: 'tasklane' },
  { label: 'graphile-worker', files: ['graphile-worker'], protocol: 'prepared', check: 'graphile-worker' },
]

type Variant = { kind: 'sql'; sql: SqlVariant } | { kind: 'drain'; system: () => BenchSystem; label: string }

async function query<T extends pg.QueryResultRow>(url: string, text: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query<T>(text)).rows
  } finally {
    await client.end()
  }
}

/** One database holding both backlogs, added through each system's own enqueue (as the drain does). */
async function buildTemplate(name: string, tasks: number): Promise<void> {
  const url = await createDatabase(name)
  for (const system of [new TasklaneSystem(), new GraphileWorkerSystem()] as BenchSystem[]) {
    try {
      await system.setup(url)
      for (let i = 0; i < tasks; i += 1000)
        await system.enqueueBatch(Array.from({ length: Math.min(1000, tasks - i) }, () => ({ t: 0 })))
    } finally {
      await system.teardown()
    }
  }
  // Statistics of the full backlog for every copy: graphile-worker's lock statement otherwise plans
  // for the table it saw empty (a seq scan and sort of all 20k rows per batch of 500, 5-10x slower;
  // its real drain pays that too, until autovacuum analyzes). tasklane's lease walks job_i11 either way
  // (the planner settings above).
  await query(url, 'ANALYZE')
}

async function copyOf(template: string, name: string): Promise<string> {
  await dropDatabase(name)
  await query(ADMIN_URL, `CREATE DATABASE ${name} TEMPLATE ${template}`)
  return urlFor(name)
}

/** One pgbench drain of the copied backlog: tasks/s = transactions/s × BATCH. */
async function pgbenchDrain(
  url: string,
  dir: string,
  v: SqlVariant,
  tasks: number,
): Promise<{ tasksPerSecond: number; statements: Array<[string, number]> }> {
  const script = join(dir, `${v.files.join('+')}.sql`)
  const parts = await Promise.all(v.files.map((f) => readFile(new URL(`${f}.sql`, DIR), 'utf8')))
  await writeFile(script, parts.join('\n'))
  const [task] = await query<{ id: number }>(
    url,
    `select id from graphile_worker._private_tasks where identifier = 'bench'`,
  )
  const batches = Math.ceil(tasks / BATCH)
  const options: Array<[string, string]> = [
    ['-c', String(CLIENTS)],
    ['-j', String(CLIENTS)],
    ['-t', String(Math.ceil(batches / CLIENTS))],
    ['-M', v.protocol],
    ['-D', `batch=${BATCH}`],
    ['-D', `startnow=${START_NOW}`],
    ['-D', `taskid=${task?.id ?? 0}`],
    ['-f', script],
  ]
  // -r: per-statement latencies (the breakdown pg_stat_statements would give, were it preloaded).
  const args = ['-n', '-r', ...options.flat(), url]
  const { stdout } = await run(PGBENCH, args, {
    // Only tasklane's statements run on a pool with these settings: graphile-worker's lock needs a
    // sort, whose disable cost would push its plan over jit_above_cost (JIT: ~1 s per statement).
    env: v.check === 'tasklane' ? { ...process.env, PGOPTIONS: PLANNER_OPTIONS } : process.env,
  })
  const tps = /tps = ([\d.]+)/.exec(stdout)?.[1]
  if (!tps) throw new Error(`pgbench printed no tps:\n${stdout}`)
  // tps counts transactions (one lease + settle of BATCH each); one past the end of the backlog
  // (an odd batch count) leases nothing, so the time is transactions / tps and the rate tasks / time.
  const seconds = (Math.ceil(batches / CLIENTS) * CLIENTS) / Number(tps)
  await verify(url, v.check, tasks)
  return { tasksPerSecond: tasks / seconds, statements: statementLatencies(stdout) }
}

/**
 * pgbench -r's table: each statement's mean latency in ms per transaction, with the statement's first
 * words. Client-observed (round trip included), per client, while the other client runs.
 */
function statementLatencies(stdout: string): Array<[string, number]> {
  const table = stdout.split(/statement latencies in milliseconds[^\n]*\n/)[1] ?? ''
  return table
    .split('\n')
    .map((line) => /^\s*([\d.]+)\s+\d+\s+(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [(m[2] ?? '').replace(/\s+/g, ' ').slice(0, 60), Number(m[1])])
}

/** The run drained everything, and (tasklane) wrote one history row per task. */
async function verify(url: string, check: SqlVariant['check'], tasks: number): Promise<void> {
  const text =
    check === 'tasklane'
      ? `select (select count(*) from pgboss.job where name = 'default' and state < 'completed')::int as live,
           (select count(*) from tasklane.task_history)::int as recorded`
      : `select (select count(*) from graphile_worker._private_jobs)::int as live, ${tasks} as recorded`
  const [row] = await query<{ live: number; recorded: number }>(url, text)
  if (row?.live !== 0 || row.recorded !== tasks)
    throw new Error(`task-ceiling ${check}: ${row?.live} jobs left, ${row?.recorded} of ${tasks} recorded`)
}

function rotate<T>(items: readonly T[], by: number): T[] {
  const k = by % items.length
  return [...items.slice(k), ...items.slice(0, k)]
}

export const taskCeiling: Scenario = {
  name: 'task-ceiling',
  systems: ['tasklane'],
  async run(_system, ctx: ScenarioContext) {
    const { scale, round } = ctx
    if (!(await pgbenchAvailable())) {
      console.error('# task-ceiling skipped: pgbench is not installed')
      return []
    }
    const tasks = scale.drainTasks
    const reps = scale.mode === 'smoke' ? 1 : 3
    const template = dbName('ceiling', 'tmpl', round)
    const dir = await mkdtemp(join(tmpdir(), 'tasklane-task-ceiling-'))
    const variants: Variant[] = [
      ...SQL_VARIANTS.map((sql): Variant => ({ kind: 'sql', sql })),
      { kind: 'drain', label: 'tasklane', system: () => new TasklaneSystem() },
      { kind: 'drain', label: 'graphile-worker', system: () => new GraphileWorkerSystem() },
    ]
    const results = new Map<string, number[]>()
    try {
      await buildTemplate(template, tasks)
      for (let rep = 0; rep < reps; rep++) {
        for (const v of rotate(variants, rep + round)) {
          const name = dbName('ceiling', 'run', round, rep)
          try {
            let label: string
            let value: number
            if (v.kind === 'sql') {
              label = `sql: ${v.sql.label}`
              const r = await pgbenchDrain(await copyOf(template, name), dir, v.sql, tasks)
              value = r.tasksPerSecond
              for (const [statement, ms] of r.statements)
                console.error(`    ${((ms * 1000) / BATCH).toFixed(1).padStart(7)} µs/task  ${statement}`)
            } else {
              // The drain scenario itself, on a fresh database, as `--scenario=drain` runs it.
              label = `drain: ${v.label}`
              const system = v.system()
              try {
                const url = await createDatabase(name)
                await system.setup(url)
                const figures = await drain.run(system, { ...ctx, dbUrl: url })
                value = figures.find((f) => f.unit === 'tasks/s')?.value ?? Number.NaN
              } finally {
                await system.teardown()
              }
            }
            results.set(label, [...(results.get(label) ?? []), value])
            console.error(`  task-ceiling rep ${rep} ${label}: ${value.toFixed(0)} tasks/s`)
          } finally {
            await dropDatabase(name)
          }
        }
      }
    } finally {
      await dropDatabase(template)
      await rm(dir, { recursive: true, force: true })
    }
    const figures: Figure[] = []
    for (const [label, values] of results)
      figures.push(fig('task-ceiling', 'tasklane', median(values), `${label} tasks/s`))
    const base = results.get('sql: tasklane')
    const actual = results.get('drain: tasklane')
    if (base && actual)
      figures.push(
        fig('task-ceiling', 'tasklane', median(actual) / median(base), 'drain: tasklane / sql: tasklane'),
      )
    return figures
  },
}
