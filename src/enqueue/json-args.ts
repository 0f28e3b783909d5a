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
 * than MAX_JSON_DEPTH), so nothing is written for args that would vanish or be refused on the way
 * through JSON.
 * @returns null when the value survives JSON unchanged; otherwise why it does not — the first value
 * JSON would turn into something else (a Date into a string, a Map or class instance into a plain
 * object, `undefined` in an array into null), e.g. `"args.when is a Date"`. Callers decide whether
 * that change is acceptable (a task schema that reads the stored form back) or a refusal.
 */
export function assertJson(value: unknown, what = 'args'): string | null {
  const seen = new Set<object>()
  let changed: string | null = null
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
        if (typeof (v as { toJSON?: unknown }).toJSON === 'function') {
          changed ??= `${path} is ${v instanceof Date ? 'a Date' : `${kindOf(v)} with a toJSON method`}`
          return
        }
        seen.add(v)
        if (Array.isArray(v)) {
          for (const [i, item] of v.entries()) {
            if (item === undefined) changed ??= `${path}[${i}] is undefined (JSON has no undefined)`
            visit(item, `${path}[${i}]`, depth + 1)
          }
        } else {
          const proto = Object.getPrototypeOf(v)
          if (proto !== Object.prototype && proto !== null) changed ??= `${path} is ${kindOf(v)}`

          for (const [k, item] of Object.entries(v)) {
            const why = unstorableText(k)
            if (why) throw new TypeError(`a key of ${path} ${why}`)
            if (item !== undefined) visit(item, `${path}.${k}`, depth + 1)
          }
        }
        seen.delete(v)
        return
      }
      default:
        return
    }
  }
  visit(value, what)
  return changed
}

/** 'a Map', 'a Set', 'an instance of Money': how a non-plain object is named in a message. */
function kindOf(v: object): string {
  const name = (v as { constructor?: { name?: unknown } }).constructor?.name
  if (typeof name !== 'string' || name === '') return 'an object with a custom prototype'
  return ['Map', 'Set', 'RegExp', 'Error', 'WeakMap', 'WeakSet', 'Promise'].includes(name) ||
    name.endsWith('Array')
    ? `a${/^[AEIOU]/.test(name) ? 'n' : ''} ${name}`
    : `an instance of ${name}`
}
