/**
 * Throws a TypeError naming the path of the first value that cannot be stored as JSON (a function,
 * symbol, BigInt, non-finite number or a cycle), so nothing is written for args that would change
 * or vanish on the way through JSON.
 */
export function assertJson(value: unknown, what = 'args'): void {
  const seen = new Set<object>()
  const visit = (v: unknown, path: string): void => {
    switch (typeof v) {
      case 'function':
        throw new TypeError(`${path} is a function: task args must be JSON (pass data, and define behaviour in the task)`)
      case 'symbol':
        throw new TypeError(`${path} is a symbol: task args must be JSON`)
      case 'bigint':
        throw new TypeError(`${path} is a BigInt: task args must be JSON (pass it as a string)`)
      case 'number':
        if (!Number.isFinite(v)) throw new TypeError(`${path} is ${v}: task args must be JSON (finite numbers only)`)
        return
      case 'object': {
        if (v === null) return
        if (seen.has(v)) throw new TypeError(`${path} refers back to itself (a cycle): task args must be JSON`)
        if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return
        seen.add(v)
        if (Array.isArray(v)) v.forEach((item, i) => visit(item, `${path}[${i}]`))
        else for (const [k, item] of Object.entries(v)) if (item !== undefined) visit(item, `${path}.${k}`)
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
