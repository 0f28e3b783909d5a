// Captures exactly the SQL one tasklane drain runs at default settings (pg_stat_statements is not
// preloaded on this server, and loading it needs a restart): wraps pg.Client#query in this process
// and records, per statement text, calls, rows per call and client-observed time, plus the
// statement sequence of each connection for a few hundred statements (the transaction layout).
//
//   npx tsx scripts/bench/ceiling/capture.ts [--tasks=20000] [--trace=300] [--full] [--system=graphile-worker]
//
// The pgbench scripts beside this file (lease.sql, settle.sql, …) are these statements with their
// parameters turned into pgbench variables; --full prints every statement's whole text to check them.
import pg from 'pg'
import { createDatabase, dbName, dropDatabase } from '../db.ts'
import { GraphileWorkerSystem } from '../graphile-worker.system.ts'
import { CONCURRENCY, waitUntil } from '../scenarios.ts'
import type { BenchSystem } from '../system.ts'
import { now } from '../system.ts'
import { TasklaneSystem } from '../tasklane.system.ts'

const arg = (name: string, fallback: number) =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback)
const TASKS = arg('tasks', 20_000)
const TRACE = arg('trace', 300)

interface Entry {
  text: string
  calls: number
  rows: number
  ms: number
  /** Largest array parameter seen (the batch size of an `= any($n)` / unnest statement). */
  maxArray: number
}
const entries = new Map<string, Entry>()
const trace: string[] = []
let recording = false

const shape = (text: string) => text.replace(/\s+/g, ' ').trim()

const original = pg.Client.prototype.query as (...args: unknown[]) => unknown
pg.Client.prototype.query = function captured(this: pg.Client, ...args: unknown[]) {
  const first = args[0] as string | { text?: string; values?: unknown[] } | undefined
  const text = typeof first === 'string' ? first : first?.text
  const values = (typeof first === 'object' && first?.values) || (Array.isArray(args[1]) ? args[1] : [])
  if (!text || !recording) return original.apply(this, args)
  const key = shape(text)
  const pid = (this as unknown as { processID?: number }).processID ?? 0
  if (trace.length < TRACE) {
    const arrays = (values as unknown[]).map((v) => (Array.isArray(v) ? `[${v.length}]` : typeof v))
    trace.push(`${String(pid).padStart(7)}  ${key.slice(0, 90)}  (${arrays.join(', ')})`)
  }
  const t0 = performance.now()
  const record = (r: { rowCount?: number | null } | undefined) => {
    const e = entries.get(key) ?? { text, calls: 0, rows: 0, ms: 0, maxArray: 0 }
    e.calls++
    e.rows += r?.rowCount ?? 0
    e.ms += performance.now() - t0
    for (const v of values as unknown[]) if (Array.isArray(v)) e.maxArray = Math.max(e.maxArray, v.length)
    entries.set(key, e)
  }
  const last = args.length - 1
  if (typeof args[last] === 'function') {
    const cb = args[last] as (err: unknown, r: unknown) => void
    args[last] = (err: unknown, r: { rowCount?: number | null }) => {
      record(r)
      cb(err, r)
    }
    return original.apply(this, args)
  }
  const result = original.apply(this, args)
  if (!(result instanceof Promise)) return result
  return result.then((r: { rowCount?: number | null }) => {
    record(r)
    return r
  })
} as typeof pg.Client.prototype.query

const peer = process.argv.includes('--system=graphile-worker')
const db = dbName('ceiling', 'capture')
const system: BenchSystem = peer ? new GraphileWorkerSystem() : new TasklaneSystem()
try {
  await system.setup(await createDatabase(db))
  for (let i = 0; i < TASKS; i += 1000)
    await system.enqueueBatch(Array.from({ length: Math.min(1000, TASKS - i) }, () => ({ t: now() })))
  recording = true
  let first: number | undefined
  await system.startWorkers({ concurrency: CONCURRENCY, onRun: () => (first ??= now()) })
  await waitUntil(async () => (await system.countUnsettled()) === 0, 300_000, 'drain')
  const seconds = (now() - (first ?? now())) / 1000
  recording = false
  console.log(
    `drain ${TASKS} (${system.name}): ${(TASKS / seconds).toFixed(0)} tasks/s in ${seconds.toFixed(2)} s\n`,
  )
  console.log(
    'statement (whitespace collapsed)                                        calls  rows/call  ms/call  total ms  max array',
  )
  const sorted = [...entries.values()].sort((a, b) => b.ms - a.ms)
  for (const e of sorted)
    console.log(
      `${shape(e.text).slice(0, 70).padEnd(72)}${String(e.calls).padStart(6)} ${(e.rows / e.calls).toFixed(1).padStart(9)} ${(e.ms / e.calls).toFixed(2).padStart(8)} ${e.ms.toFixed(0).padStart(9)} ${String(e.maxArray).padStart(10)}`,
    )
  console.log(`\nfirst ${trace.length} statements (backend pid, text, parameters):`)
  for (const line of trace) console.log(line)
  if (process.argv.includes('--full'))
    for (const e of sorted)
      console.log(`\n-- ${e.calls} calls, ${(e.rows / e.calls).toFixed(1)} rows/call\n${e.text}`)
} finally {
  await system.teardown()
  await dropDatabase(db)
}
process.exit(0)
