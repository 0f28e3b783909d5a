/**
 * An ISO 8601 instant: a date, a time and — required — `Z` or an offset. A timestamp without one
 * names a wall-clock time, not an instant: JavaScript reads it in the process's time zone, so the
 * same request meant 09:00Z on one server and 14:00Z on another.
 */
const INSTANT =
  /^(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d)(?::(\d\d)(?:\.(\d+))?)?(?:([Zz])|([+-])(\d\d):?(\d\d))$/
const LOCAL = /^\d{4}-\d\d-\d\d(?:[Tt ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?)?$/

/**
 * The instant `value` names, in epoch milliseconds, or why it names none.
 * Accepts a Date, or a string like '2031-01-01T09:00:00Z' / '2031-01-01T10:00:00.250+01:00'.
 * Refuses: strings without `Z` or an offset, impossible dates ('2031-02-30', '24:00'), digits finer
 * than a millisecond (tasklane stores milliseconds), and years outside 1–9999 (PostgreSQL and ISO).
 * @example parseInstant('2031-01-01T00:00:00.000Z') // { ms: 1924992000000 }
 */
export function parseInstant(value: unknown): { ms: number } | { problem: string } {
  if (value instanceof Date) {
    const ms = value.getTime()
    if (Number.isNaN(ms)) return { problem: 'it is an Invalid Date' }
    const year = value.getUTCFullYear()
    if (year < 1 || year > 9999) return { problem: 'use a year from 1 to 9999' }
    return { ms }
  }
  if (typeof value !== 'string') return { problem: "use an ISO 8601 instant like '2031-01-01T09:00:00Z'" }
  const m = INSTANT.exec(value)
  if (!m) {
    return LOCAL.test(value)
      ? {
          problem:
            "it has no time zone: add 'Z' for UTC or an offset like '+01:00' (without one it would be read in the server's time zone)",
        }
      : { problem: "use an ISO 8601 instant like '2031-01-01T09:00:00Z'" }
  }
  const [, y, mo, d, h, mi, s = '0', fraction = '', z, sign, oh, om] = m
  if (fraction.length > 3 && /[1-9]/.test(fraction.slice(3))) {
    return { problem: 'it is finer than a millisecond, the precision tasklane stores' }
  }
  const fields = [Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)] as const
  // Before Date.UTC, which maps years 0–99 to 1900–1999.
  if (fields[0] < 1) return { problem: 'use a year from 1 to 9999' }
  const local = Date.UTC(...fields, Number(fraction.slice(0, 3).padEnd(3, '0')))
  const check = new Date(local)
  // Date.UTC rolls over (Feb 30 → Mar 2, 24:00 → next day): an impossible date is refused, not moved.
  if (
    check.getUTCFullYear() !== fields[0] ||
    check.getUTCMonth() !== fields[1] ||
    check.getUTCDate() !== fields[2] ||
    check.getUTCHours() !== fields[3] ||
    check.getUTCMinutes() !== fields[4] ||
    check.getUTCSeconds() !== fields[5]
  ) {
    return { problem: 'no such date and time exists' }
  }
  const offsetMin = z ? 0 : (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om))
  if (Number(oh ?? 0) > 23 || Number(om ?? 0) > 59) return { problem: 'the offset must be at most ±23:59' }
  return { ms: local - offsetMin * 60_000 }
}
