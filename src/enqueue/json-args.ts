/**
 * Why PostgreSQL cannot store `s` in jsonb or text, or null when it can. jsonb rejects \u0000 (22P05)
 * and unpaired UTF-16 surrogates (22P02), which JSON.stringify writes as escapes: found here, they are
 * a 400 naming the field rather than a database error (a 500) halfway through the enqueue.
 */
export function unstorableText(s: string): string | null {
  if (s.includes('\u0000')) return 'contains a NUL character (\\u0000), which PostgreSQL cannot store'
  if (!s.isWellFormed())
    return 'contains an unpaired UTF-16 surrogate (not valid Unicode), which PostgreSQL cannot store'
  return null
}

/**
 * Deepest nesting accepted. Without a bound, args nested a few thousand levels deep overflow the
 * stack in whichever recursive step meets them first (this check, hashing, pg-boss's JSON.stringify),
 * so the same request got a 400 or a 500 depending on how warm the JIT was.
 */
export const MAX_JSON_DEPTH = 1000

/**
 * Throws a TypeError naming the path of the first value that cannot be stored as JSON (a function,
 * symbol, BigInt, non-finite number, a cycle, a string PostgreSQL cannot store, or nesting deeper
 * than MAX_JSON_DEPTH), so nothing is written for args that would change, vanish or be refused on
 * the way through JSON.
 */
export function assertJson(value: unknown, what = 'args'): void {
  const seen = new Set<object>()
  const visit = (v: unknown, path: string, depth = 0): void => {
    if (depth > MAX_JSON_DEPTH) {
      throw new TypeError(
        `${what} nests deeper than ${MAX_JSON_DEPTH} levels: task args must be flatter JSON`,
      )
    }
    switch (typeof v) {
      case 'string': {
        const why = unstorableText(v)
        if (why) throw new TypeError(`${path} ${why}`)
        return
      }
      case 'function':
        throw new TypeError(
          `${path} is a function: task args must be JSON (pass data, and define behaviour in the task)`,
        )
      case 'symbol':
        throw new TypeError(`${path} is a symbol: task args must be JSON`)
      case 'bigint':
        throw new TypeError(`${path} is a BigInt: task args must be JSON (pass it as a string)`)
      case 'number':
        if (!Number.isFinite(v))
          throw new TypeError(`${path} is ${v}: task args must be JSON (finite numbers only)`)
        return
      case 'object': {
        if (v === null) return
        if (seen.has(v))
          throw new TypeError(`${path} refers back to itself (a cycle): task args must be JSON`)
        if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return
        seen.add(v)
        if (Array.isArray(v)) {
          for (const [i, item] of v.entries()) visit(item, `${path}[${i}]`, depth + 1)
        } else
          for (const [k, item] of Object.entries(v)) {
            const why = unstorableText(k)
            if (why) throw new TypeError(`a key of ${path} ${why}`)
            if (item !== undefined) visit(item, `${path}.${k}`, depth + 1)
          }
        seen.delete(v)
        return
      }
      default:
        return
    }
  }
  visit(value, what)
}

/** JSON with object keys sorted, so equal requests hash equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  )
}
