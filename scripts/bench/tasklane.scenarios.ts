// Scenarios only tasklane has an equivalent for: its HTTP enqueue endpoint, its stats endpoints
// over a large history, and the memory of a worker process. Servers and workers run in child
// processes so the load generator and the measuring parent never share their event loop or RSS.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { rm } from 'node:fs/promises'
import { fileURLToPath, pathToFileURL } from 'node:url'
import autocannon from 'autocannon'
import pg from 'pg'
import { type Child, startChild } from './child.ts'
import { fig, type Scenario, sleep } from './scenarios.ts'
import { percentile } from './stats.ts'
import type { BenchPayload, Figure, SystemName } from './system.ts'
import { BENCH_QUEUE, BENCH_TASK } from './tasklane.system.ts'

async function query<T extends pg.QueryResultRow>(dbUrl: string, text: string, values: unknown[] = []) {
  const client = new pg.Client({ connectionString: dbUrl })
  await client.connect()
  try {
    return (await client.query<T>(text, values)).rows
  } finally {
    await client.end()
  }
}

async function jobCount(dbUrl: string): Promise<number> {
  const [row] = await query<{ n: string }>(dbUrl, 'select count(*) as n from pgboss.job where name = $1', [
    BENCH_QUEUE,
  ])
  return Number(row?.n ?? 0)
}

function cannon(opts: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon(opts, (err, result) => (err ? reject(err) : resolve(result)))
  })
}

/**
 * POST /tasks/bench on an API-only server process (`tasklane serve --no-workers`): autocannon,
 * 50 connections. Every 2xx must be a row in pgboss.job (a 202 means durable), and non-2xx must be 0.
 */
export const httpEnqueue: Scenario = {
  name: 'http-enqueue',
  systems: ['tasklane'],
  async run(_system, { scale, dbUrl }) {
    const server = await startChild<{ port: number }>('http-server', { DATABASE_URL: dbUrl, WORKERS: '0' })
    try {
      const target: autocannon.Options = {
        url: `http://127.0.0.1:${server.ready.port}/tasks/${BENCH_TASK}`,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ args: { t: 0 } satisfies BenchPayload }),
        connections: scale.httpConnections,
      }
      // A short warm-up (JIT, pool connections) that is not measured, as any long-running server is warm.
      if (scale.mode !== 'smoke') {
        await cannon({ ...target, duration: 1 })
        await sleep(500) // let the warm-up's last requests commit before counting
      }
      const before = await jobCount(dbUrl)
      // A fixed count (smoke) waits as long as a loaded machine needs: a request is not timed out at 10 s.
      const r = await cannon(
        scale.httpRequests
          ? { ...target, amount: scale.httpRequests, timeout: 120 }
          : { ...target, duration: scale.httpSeconds },
      )
      const written = (await jobCount(dbUrl)) - before
      // Requests still in flight when autocannon stops are written but not counted: at most one per connection.
      if (written < r['2xx'] || written - r['2xx'] > scale.httpConnections) {
        throw new Error(`http-enqueue: ${r['2xx']} requests answered 2xx but ${written} jobs were written`)
      }
      return [
        fig('http-enqueue', 'tasklane', r['2xx'] / r.duration, 'requests/s'),
        fig('http-enqueue', 'tasklane', r.latency.p50, 'p50 ms'),
        fig('http-enqueue', 'tasklane', r.latency.p99, 'p99 ms'),
        fig('http-enqueue', 'tasklane', r.non2xx + r.errors, 'non-2xx'),
      ]
    } finally {
      await server.stop()
    }
  },
}

const TASK_NAMES = 8

/**
 * `rows` finished tasks spread evenly over the last 30 days (so the default 5-minute stats window
 * holds ~115 of 1M and the 24 h analytics window ~33k): 96% completed, 2% failed after 3
 * attempts, 2% cancelled; 2.5% of the completed ones succeeded on a retry. Failed attempts go to
 * task_attempt as tasklane writes them. Deterministic (setseed) so rounds compare.
 */
export async function fillHistory(dbUrl: string, rows: number, days = 30, chunk = 1_000_000): Promise<void> {
  const client = new pg.Client({ connectionString: dbUrl })
  await client.connect()
  try {
    // The monthly partitions maintenance would have made as the months went by (migration 0003_b).
    await client.query(`select tasklane.ensure_history_partitions(current_date - $1::int, current_date)`, [
      days,
    ])
    await client.query('select setseed(0.42)')
    // In chunks of `chunk` rows: one statement per chunk keeps each transaction (and its WAL) bounded.
    for (let from = 1; from <= rows; from += chunk) {
      await client.query(
        `insert into tasklane.task_history (task_id, task, queue, priority, status, args, result, error,
         attempts, max_attempts, created_at, start_after, started_at, finished_at, wait_ms, duration_ms,
         worker_id, cpu_ms)
       select id, 'task-' || (i % ${TASK_NAMES}), 'default', 10 * (i % 4), status, jsonb_build_object('n', i),
         case when status = 'completed' then '{"ok": true}'::jsonb end,
         case when status = 'failed' then '{"type": "Error", "message": "boom"}'::jsonb end,
         attempts, 3, finished - run - wait, finished - run - wait,
         case when status <> 'cancelled' then finished - run end, finished,
         (extract(epoch from wait) * 1000)::int, case when status <> 'cancelled' then (extract(epoch from run) * 1000)::int end,
         'bench-worker', 1
       from (
         select i, gen_random_uuid() as id,
           now() - (i::float8 / $1) * make_interval(days => $4) as finished,
           make_interval(secs => (random() * random() * 5)) as run,
           make_interval(secs => (random() * random() * 20)) as wait,
           case when i % 50 = 0 then 'failed' when i % 50 = 1 then 'cancelled' else 'completed' end as status,
           case when i % 50 = 0 then 3 when i % 40 = 3 then 2 else 1 end as attempts
         from generate_series($2::int, $3::int) i
       ) s`,
        [rows, from, Math.min(rows, from + chunk - 1), days],
      )
    }
    // One failed attempt per retried success, three per final failure (the last one is the final).
    await client.query(`
      insert into tasklane.task_attempt (task_id, attempt, task, queue, outcome, error, started_at, finished_at,
        duration_ms, worker_id)
      select h.task_id, a, h.task, h.queue, 'failed', '{"type": "Error", "message": "boom"}'::jsonb,
        h.started_at - make_interval(secs => 10 * (h.attempts - a)), h.finished_at - make_interval(secs => 10 * (h.attempts - a)),
        h.duration_ms, 'bench-worker'
      from tasklane.task_history h, generate_series(1, h.attempts) a
      where (h.status = 'failed') or (h.status = 'completed' and h.attempts = 2 and a = 1)`)
    // As autovacuum would have by the time anyone looks at stats over a million rows.
    await client.query('vacuum analyze tasklane.task_history, tasklane.task_attempt')
  } finally {
    await client.end()
  }
}

async function timeGets(base: string, path: string, n: number): Promise<number[]> {
  const samples: number[] = []
  for (let i = 0; i < n + 2; i++) {
    const t0 = performance.now()
    const res = await fetch(`${base}${path}`)
    const body = await res.text()
    const ms = performance.now() - t0
    if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${body.slice(0, 300)}`)
    if (i >= 2) samples.push(ms) // the first two warm the plan cache and the JIT
  }
  return samples
}

/**
 * GET /stats and GET /analytics (defaults: 5-minute window; 24 h in 1 h buckets) against 1,000,000
 * history rows, sequential requests from one client: the dashboard's load, measured as latency.
 */
export const stats1m: Scenario = {
  name: 'stats-1m',
  systems: ['tasklane'],
  async run(_system, { scale, dbUrl }) {
    await fillHistory(dbUrl, scale.statsRows)
    const server = await startChild<{ port: number }>('http-server', { DATABASE_URL: dbUrl, WORKERS: '0' })
    try {
      const base = `http://127.0.0.1:${server.ready.port}`
      const figures: Figure[] = []
      // The 7-day window is for information (no target) and ~8× slower: a quarter of the requests.
      for (const [label, path, n] of [
        ['stats', '/stats', scale.statsRequests],
        ['analytics', '/analytics', scale.statsRequests],
        ['analytics-7d', '/analytics?window=7d&bucket=1d', Math.max(3, Math.ceil(scale.statsRequests / 4))],
      ] as const) {
        const samples = await timeGets(base, path, n)
        figures.push(fig('stats-1m', 'tasklane', percentile(samples, 50), `${label} p50 ms`))
        figures.push(fig('stats-1m', 'tasklane', percentile(samples, 99), `${label} p99 ms`))
      }
      return figures
    } finally {
      await server.stop()
    }
  },
}

/** Runs a command to its end; rejects naming it when it exits non-zero. */
async function run(cmd: string, args: string[], opts: Parameters<typeof spawn>[2]): Promise<void> {
  const child = spawn(cmd, args, opts)
  const [code] = (await once(child, 'exit')) as [number | null]
  if (code !== 0) throw new Error(`${[cmd, ...args].join(' ')} exited with ${code}`)
}

/**
 * Peak RSS of a worker process (concurrency 10, the default prefetch) draining a preloaded backlog,
 * run as users run it: plain Node on the compiled package, built first into a folder of its own (the
 * sources may have changed since `npm install` built dist/); under tsx, the loader added ~15 MB.
 * The peers drain the same backlog in a process of their own (children/memory-peer.mjs), tuned as
 * in the throughput scenarios.
 */
export const memory: Scenario = {
  name: 'memory',
  systems: ['tasklane', 'pg-boss', 'graphile-worker'],
  async run(system, { scale, dbUrl }) {
    const CHUNK = Math.min(1000, scale.memoryTasks)
    for (let i = 0; i < scale.memoryTasks; i += CHUNK) {
      await system.enqueueBatch(Array.from({ length: CHUNK }, () => ({ t: 0 })))
    }
    if (system.name !== 'tasklane') {
      return memoryFigures(system.name, scale.memoryTasks, () =>
        startChild('memory-peer.mjs', { DATABASE_URL: dbUrl, PEER: system.name }),
      )
    }
    // A build of its own: `npm pack` (the package test, beside the smoke run) rewrites dist/.
    const outDir = `bench-results/build-${process.pid}`
    const built = new URL(`../../${outDir}/`, import.meta.url)
    try {
      // tsc reports its errors on stdout: to stderr, so the protocol-free parent shows them.
      await run(
        process.execPath,
        [fileURLToPath(new URL('../build.mjs', import.meta.url)), `--out-dir=${outDir}`],
        {
          stdio: ['ignore', 2, 'inherit'],
        },
      )
      return await memoryFigures('tasklane', scale.memoryTasks, () =>
        startChild('memory-worker.mjs', {
          DATABASE_URL: dbUrl,
          TASKLANE_ENTRY: pathToFileURL(fileURLToPath(new URL('src/index.js', built))).href,
        }),
      )
    } finally {
      await rm(built, { recursive: true, force: true })
    }
  },
}

/** Runs a memory child to the end of its drain and reads its figures. */
async function memoryFigures(
  systemName: SystemName,
  tasks: number,
  start: () => Promise<Child<unknown>>,
): Promise<Figure[]> {
  const worker = await start()
  try {
    const r = (await worker.next()) as {
      maxRssMb: number
      sampledPeakRssMb: number
      heapTotalPeakMb: number
      startRssMb: number
      seconds: number
    }
    return [
      fig('memory', systemName, r.maxRssMb, 'peak RSS MB'),
      fig('memory', systemName, r.sampledPeakRssMb, 'peak RSS while draining MB'),
      // Where it goes: the process once the library is imported (and tasklane created), before it
      // starts, and V8's heap at most.
      fig('memory', systemName, r.startRssMb, 'RSS before start MB'),
      fig('memory', systemName, r.heapTotalPeakMb, 'heap total peak MB'),
      fig('memory', systemName, tasks / r.seconds, 'tasks/s'),
    ]
  } finally {
    await worker.stop()
  }
}

export const tasklaneScenarios: Scenario[] = [httpEnqueue, stats1m, memory]
