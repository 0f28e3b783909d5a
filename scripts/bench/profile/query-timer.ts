// A client-side stand-in for pg_stat_statements (which needs shared_preload_libraries and a server
// restart): wraps pg.Client#query in this process and sums calls, rows and wall time per statement
// shape. Wall time includes the round trip and waiting for the server, which is what a worker feels.
import pg from 'pg'

interface Entry {
  calls: number
  ms: number
  rows: number
}

const entries = new Map<string, Entry>()

/** A statement's shape: whitespace collapsed, literals of ids/numbers kept out, first 110 chars. */
function shape(text: string): string {
  return text
    .replace(/\s+/g, ' ')
    .replace(/'[0-9a-f-]{36}'/g, "'<uuid>'")
    .trim()
    .slice(0, 110)
}

let installed = false

export function installQueryTimer(): void {
  if (installed) return
  installed = true
  const original = pg.Client.prototype.query as (...args: unknown[]) => unknown
  pg.Client.prototype.query = function timedQuery(this: pg.Client, ...args: unknown[]) {
    const first = args[0] as string | { text?: string; callback?: unknown } | undefined
    const text = typeof first === 'string' ? first : first?.text
    if (!text) return original.apply(this, args)
    const t0 = performance.now()
    const record = (r: { rowCount?: number | null } | undefined) => {
      trackPipeline(this, text, t0, performance.now())
      const key = shape(text)
      const e = entries.get(key) ?? { calls: 0, ms: 0, rows: 0 }
      e.calls++
      e.ms += performance.now() - t0
      e.rows += r?.rowCount ?? 0
      entries.set(key, e)
    }
    // pg-pool's pool.query() passes a callback (as the last argument) instead of using the promise.
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
}

export function resetQueryTimer(): void {
  entries.clear()
  spans.length = 0
}

/** The top statements by total time, as a table for stderr. */
export function queryReport(top = 15): string {
  const rows = [...entries.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, top)
  const total = [...entries.values()].reduce((n, e) => n + e.ms, 0)
  const lines = rows.map(
    ([key, e]) =>
      `${e.ms.toFixed(0).padStart(8)} ms ${e.calls.toString().padStart(7)} calls ${(e.ms / e.calls).toFixed(2).padStart(8)} ms/call ${e.rows.toString().padStart(8)} rows  ${key}`,
  )
  return [`total ${total.toFixed(0)} ms of client-observed query time`, ...lines].join('\n')
}

/** A statement class of the drain's pipeline, and when it was in flight (performance.now()). */
interface Span {
  kind: 'lease' | 'settle'
  from: number
  to: number
}

const spans: Span[] = []
const openTx = new WeakMap<object, number>()

/**
 * Records when a lease statement or a transaction (a settle: begin … commit) is in flight, for
 * pipelineReport(). Installed with the query timer; reset with it.
 */
export function trackPipeline(client: object, text: string, t0: number, t1: number): void {
  const head = text.trimStart().slice(0, 16).toLowerCase()
  if (head.startsWith('with next as')) spans.push({ kind: 'lease', from: t0, to: t1 })
  else if (head === 'begin') openTx.set(client, t0)
  else if (head === 'commit' || head === 'rollback') {
    const from = openTx.get(client)
    if (from !== undefined) spans.push({ kind: 'settle', from, to: t1 })
    openTx.delete(client)
  }
}

/**
 * How the wall time from `from` to `to` splits: a lease in flight, a settle (transaction) in
 * flight, both, neither; and how many of each ran, with their mean length.
 */
export function pipelineReport(from: number, to: number): string {
  const edges: { at: number; kind: Span['kind']; d: 1 | -1 }[] = []
  for (const s of spans) {
    if (s.to < from || s.from > to) continue
    edges.push({ at: Math.max(from, s.from), kind: s.kind, d: 1 })
    edges.push({ at: Math.min(to, s.to), kind: s.kind, d: -1 })
  }
  edges.sort((a, b) => a.at - b.at || a.d - b.d)
  const open = { lease: 0, settle: 0 }
  const split = { lease: 0, settle: 0, both: 0, neither: 0 }
  let at = from
  for (const e of edges) {
    const key = open.lease && open.settle ? 'both' : open.lease ? 'lease' : open.settle ? 'settle' : 'neither'
    split[key] += e.at - at
    at = e.at
    open[e.kind] += e.d
  }
  split.neither += to - at
  const wall = to - from
  const pct = (ms: number) => `${ms.toFixed(0)} ms (${((ms / wall) * 100).toFixed(0)}%)`
  const count = (k: Span['kind']) => {
    const of = spans.filter((s) => s.kind === k && s.to >= from && s.from <= to)
    const mean = of.reduce((n, s) => n + s.to - s.from, 0) / Math.max(1, of.length)
    return `${of.length} × ${mean.toFixed(1)} ms`
  }
  return [
    `pipeline over ${wall.toFixed(0)} ms: lease only ${pct(split.lease)}, settle only ${pct(split.settle)}, both ${pct(split.both)}, neither ${pct(split.neither)}`,
    `  leases ${count('lease')}, settle transactions ${count('settle')}`,
  ].join('\n')
}
