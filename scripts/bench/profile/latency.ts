// Where pickup latency goes: the latency scenario (idle workers, single enqueues 20 ms apart) with
// timestamps at each hop of one task's way, medians per hop.
//
//   npx tsx scripts/bench/profile/latency.ts [--tasks=200] [--variant=no-notify-poll-50 …]
//
//   enqueue → committed     addTask() resolved (group commit: setImmediate + INSERT … NOTIFY)
//   enqueue → wake          pg-boss's NOTIFY delivered on the worker's LISTEN connection
//   wake → lease start      the runner's fetch goes out
//   lease                   pg-boss fetch round trip
//   lease end → run         buffer → slot → handler start
import pg from 'pg'
import { createDatabase, dbName, dropDatabase } from '../db.ts'
import { sleep, waitUntil } from '../scenarios.ts'
import { percentile } from '../stats.ts'
import { now } from '../system.ts'
import { TasklaneSystem } from '../tasklane.system.ts'

const option = (name: string) =>
  process.argv
    .find((a) => a.startsWith(`--${name}=`))
    ?.split('=')
    .slice(1)
    .join('=')
const TASKS = Number(option('tasks') ?? 200)

const wakes: number[] = []
const leases: { start: number; end: number }[] = []

// Hooks on every pg client of this process: notifications on pg-boss's wake channel, and the lease.
const emit = pg.Client.prototype.emit
pg.Client.prototype.emit = function (this: pg.Client, event: string | symbol, ...args: unknown[]) {
  if (event === 'notification' && (args[0] as { channel: string }).channel.startsWith('pgboss_'))
    wakes.push(now())
  return emit.call(this, event, ...args)
} as typeof emit
const query = pg.Client.prototype.query as (...args: unknown[]) => unknown
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  const first = args[0] as string | { text?: string }
  const text = typeof first === 'string' ? first : first?.text
  if (!text || !/with\s+next as/i.test(text)) return query.apply(this, args)
  const lease = { start: now(), end: 0 }
  leases.push(lease)
  const last = args.length - 1
  if (typeof args[last] === 'function') {
    const cb = args[last] as (...a: unknown[]) => void
    args[last] = (...a: unknown[]) => {
      lease.end = now()
      cb(...a)
    }
    return query.apply(this, args)
  }
  const result = query.apply(this, args) as Promise<unknown>
  return result.then((r) => {
    lease.end = now()
    return r
  })
} as typeof pg.Client.prototype.query

const variantName = option('variant')
const options = variantName?.startsWith('no-notify-poll-')
  ? { notify: false, pollIntervalMs: Number(variantName.split('-').at(-1)) }
  : variantName === 'no-group-commit'
    ? { groupCommit: false }
    : {}
const db = dbName('profile', 'latency')
const system = new TasklaneSystem(options)
const runs: { t0: number; committed: number; run: number }[] = []
try {
  await system.setup(await createDatabase(db))
  const started = new Map<number, number>()
  await system.startWorkers({ concurrency: 10, onRun: (p) => started.set(p.t, now()) })
  await sleep(500)
  wakes.length = 0
  leases.length = 0
  const start = now()
  for (let i = 0; i < TASKS; i++) {
    await sleep(start + i * 20 - now())
    const t0 = now()
    await system.enqueueOne({ t: t0 })
    runs.push({ t0, committed: now(), run: 0 })
  }
  await waitUntil(() => started.size >= TASKS, 30_000, 'tasks to start')
  for (const r of runs) r.run = started.get(r.t0)!
} finally {
  await system.teardown()
  await dropDatabase(db)
}

const hops: Record<string, number[]> = {
  'enqueue → committed': [],
  'enqueue → wake': [],
  'wake → lease start': [],
  lease: [],
  'lease end → run': [],
  'enqueue → run (total)': [],
}
for (const r of runs) {
  hops['enqueue → committed']!.push(r.committed - r.t0)
  hops['enqueue → run (total)']!.push(r.run - r.t0)
  const wake = wakes.find((w) => w >= r.t0 && w <= r.run)
  // The lease that brought this task: the last one to finish before its handler started.
  const lease = leases.filter((l) => l.end > 0 && l.end <= r.run && l.start >= r.t0).at(-1)
  if (wake !== undefined) hops['enqueue → wake']!.push(wake - r.t0)
  if (lease) {
    if (wake !== undefined) hops['wake → lease start']!.push(lease.start - wake)
    hops.lease!.push(lease.end - lease.start)
    hops['lease end → run']!.push(r.run - lease.end)
  }
}
console.log(`${TASKS} tasks, variant ${variantName ?? 'best'}; ms p50 / p95 / p99 (n)`)
for (const [hop, xs] of Object.entries(hops)) {
  const p = (q: number) => percentile(xs, q).toFixed(2)
  console.log(
    `${hop.padEnd(24)} ${p(50).padStart(7)} ${p(95).padStart(7)} ${p(99).padStart(7)}  (${xs.length})`,
  )
}
process.exit(0)
