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
