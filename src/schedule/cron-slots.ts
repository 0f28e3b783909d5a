import { CronExpressionParser } from 'cron-parser'
import { TasklaneError } from '../errors.ts'

/**
 * When a cron schedule runs, in real instants, keeping local time across daylight-saving changes by
 * the classic (Vixie) cron rule:
 * - a local time that does not exist (the skipped hour) runs once, at the first instant after the jump;
 * - a local time that happens twice (the repeated hour) runs once, the first time;
 * - a schedule that runs every hour or more often (its hour field is `*`) keeps running every real
 *   hour: it runs in both passes of a repeated hour and has nothing to run in a skipped one.
 *
 * cron-parser (a well-kept library) parses the expression and finds the matching local wall times;
 * mapping wall times to instants is done here, since neither cron-parser (it moves a skipped 02:30 to
 * 03:30, not to 03:00) nor croner (a skipped `*\/15 2 * * *` does not run at all, a repeated
 * `*\/30 1 * * *` runs twice) follows the rule (measured: test/schedule/cron-slots.test.ts).
 * Resolution is one run per minute: a 6-field expression (seconds first) must name one second of the
 * minute (`30 * * * * *` runs at :30 of every minute); a seconds field matching several seconds
 * (`*\/5`, `0,30`, `*`) is refused rather than silently run once a minute.
 */
export interface CronSpec {
  expression: string
  tz: string
  /** The hour field matches every hour: the schedule keeps running every real hour across DST. */
  everyHour: boolean
}

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR
/** Widest offset change handled (zones move by 30 minutes to 2 hours). */
const MARGIN = 3 * HOUR
/** Most cron-parser steps one preview may take (about 8 µs each). */
const MAX_STEPS = 200_000
export const MAX_PREVIEW_COUNT = 1000

const FIELDS_5 = ['minute', 'hour', 'dayOfMonth', 'month', 'dayOfWeek'] as const
const FIELDS_6 = ['second', ...FIELDS_5] as const
const FIELD_SPAN: Record<(typeof FIELDS_6)[number], { size: number; unit: string; within: string }> = {
  second: { size: 60, unit: 'seconds', within: 'a minute' },
  minute: { size: 60, unit: 'minutes', within: 'an hour' },
  hour: { size: 24, unit: 'hours', within: 'a day' },
  dayOfMonth: { size: 31, unit: 'days', within: 'a month' },
  month: { size: 12, unit: 'months', within: 'a year' },
  dayOfWeek: { size: 7, unit: 'days', within: 'a week' },
}

function invalid(path: string, message: string): TasklaneError {
  return new TasklaneError('validation_failed', message, [{ path, message }])
}

/**
 * Checks a cron expression and time zone and returns them ready for nextRuns(). Throws
 * validation_failed naming the part: `cron`, `cron.<field>` (e.g. `cron.minute` for a step that
 * cannot repeat, like `*\/90`), or `tz`.
 * @example parseCron('0 3 * * *', 'Europe/Paris')
 */
export function parseCron(expression: unknown, tz: unknown = 'UTC'): CronSpec {
  if (typeof expression !== 'string' || expression.trim() === '') {
    throw invalid('cron', 'cron must be a non-empty string like "0 3 * * *" (minute hour day month weekday)')
  }
  const cron = expression.trim()
  checkTimeZone(tz)
  if (!cron.startsWith('@')) checkFields(cron)
  let everyHour: boolean
  try {
    const parsed = CronExpressionParser.parse(cron, { tz: 'UTC', strict: false })
    everyHour = parsed.fields.hour.values.length === 24
  } catch (err) {
    throw invalid('cron', `cron "${cron}" is invalid: ${(err as Error).message}`)
  }
  return { expression: cron, tz: tz as string, everyHour }
}

function checkTimeZone(tz: unknown): asserts tz is string {
  const hint = "use an IANA time zone name such as 'Europe/Berlin', 'America/New_York' or 'UTC'"
  if (typeof tz !== 'string' || tz === '') throw invalid('tz', `tz must be a string: ${hint}`)
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz })
  } catch {
    throw invalid('tz', `tz '${tz}' is not a time zone: ${hint}`)
  }
}

/** Field count, and steps: a step larger than its field's range cannot repeat as written. */
function checkFields(cron: string): void {
  const parts = cron.split(/\s+/)
  if (parts.length !== 5 && parts.length !== 6) {
    throw invalid(
      'cron',
      `cron "${cron}" has ${parts.length} fields: use 5 (minute hour day-of-month month day-of-week), or 6 with seconds first`,
    )
  }
  const names = parts.length === 5 ? FIELDS_5 : FIELDS_6
  parts.forEach((field, i) => {
    const name = names[i]!
    const span = FIELD_SPAN[name]
    for (const item of field.split(',')) {
      const slash = item.indexOf('/')
      if (slash < 0) continue
      const step = item.slice(slash + 1)
      if (!/^\d+$/.test(step) || Number(step) < 1) {
        throw invalid(
          `cron.${name}`,
          `cron ${name} field '${field}': the step '${step}' must be a whole number from 1 to ${span.size}`,
        )
      }
      if (Number(step) > span.size) {
        throw invalid(
          `cron.${name}`,
          `cron ${name} field '${field}': a step of ${step} is larger than the ${span.size} ${span.unit} in ${span.within}, ` +
            `so it cannot repeat every ${step} ${span.unit} as written; use a step from 1 to ${span.size} ` +
            '(an interval that does not divide the range needs several schedules)',
        )
      }
    }
  })
  if (parts.length === 6) checkSecondsField(cron, parts[0]!)
}

/**
 * tasklane fires a schedule at most once a minute, so a seconds field must name exactly one second:
 * `*\/5` would otherwise run once a minute instead of every 5 seconds, which is not what was written.
 */
function checkSecondsField(cron: string, field: string): void {
  if (/^\d{1,2}$/.test(field) && Number(field) < 60) return
  throw invalid(
    'cron.second',
    `cron "${cron}": the seconds field '${field}' matches more than one second (or none), but tasklane runs a ` +
      'schedule at most once a minute; name one second (e.g. 0 or 30), or use a 5-field expression; for ' +
      'sub-minute work, run a longer task that loops',
  )
}

/**
 * The next `count` instants the schedule runs, strictly after `after`, oldest first. What the
 * scheduler fires is exactly this sequence (each slot's successor is nextRuns(spec, slot, 1)[0]).
 * @example nextRuns(parseCron('0 2 * * *', 'Europe/Berlin'), new Date('2026-03-28T12:00:00Z'), 2)
 * // → 2026-03-29T01:00:00Z (03:00 CEST, the first instant after the jump), 2026-03-30T00:00:00Z
 */
export function nextRuns(spec: CronSpec, after: Date, count: number): Date[] {
  const afterMs = after.getTime()
  const zone = zoneOf(spec.tz)
  // Near a transition (within MARGIN either side), walk local wall times from a little before
  // `after`'s: the second pass of a repeated hour has wall times earlier than `after`'s own when
  // `after` falls in (or just before) its first pass. Elsewhere wall time and instants move together.
  const steady = steadyAround(zone, afterMs)
  const startWall = afterMs + zone.offset(afterMs) - (steady ? 0 : MARGIN)
  const walls = CronExpressionParser.parse(spec.expression, {
    tz: 'UTC',
    strict: false,
    currentDate: new Date(startWall - 1000),
  })
  // Every instant met is kept (also those before `after`): a minute's run is its first matching
  // instant, so a minute whose first match is at or before `after` has no run left after it.
  let found: number[] = []
  let ahead = 0
  let checkedAt = Number.NEGATIVE_INFINITY
  for (let step = 0; step < MAX_STEPS; step++) {
    let wall: number
    try {
      wall = walls.next().getTime()
    } catch {
      break // no further occurrence
    }
    for (const t of instantsOf(zone, wall, spec.everyHour)) {
      found.push(t)
      if (t > afterMs) ahead++
    }
    // Away from transitions, checked at once; near one, every few steps or hours of wall time
    // (compacting, a sort, is then the costly part of the walk).
    if (ahead >= count && (steady || (step & 31) === 0 || wall - checkedAt > MARGIN)) {
      checkedAt = wall
      found = oncePerMinute(found)
      const upcoming = found.filter((t) => t > afterMs)
      ahead = upcoming.length
      const last = upcoming[count - 1]
      // Done once no later wall time can map before `last`: no transition within MARGIN of it
      // (either side: a repeated hour maps later wall times to earlier instants), or the walk is
      // MARGIN past it.
      if (last !== undefined && (steadyAround(zone, last) || wall - MARGIN > last + zone.offset(last))) break
    }
  }
  return oncePerMinute(found)
    .filter((t) => t > afterMs)
    .slice(0, count)
    .map((t) => new Date(t))
}

/** No offset change within MARGIN of `t`, either side (transitions are at least months apart). */
function steadyAround(zone: Zone, t: number): boolean {
  const offset = zone.offset(t)
  return zone.offset(t - MARGIN) === offset && zone.offset(t + MARGIN) === offset
}

function oncePerMinute(instants: number[]): number[] {
  const sorted = [...new Set(instants)].sort((a, b) => a - b)
  return sorted.filter((t, i) => i === 0 || Math.floor(t / MINUTE) !== Math.floor(sorted[i - 1]! / MINUTE))
}

/** The instants a local wall time (UTC-based milliseconds) runs at, by the rule above. */
function instantsOf(zone: Zone, wall: number, everyHour: boolean): number[] {
  const before = zone.offset(wall - DAY)
  const after = zone.offset(wall + DAY)
  const candidates = [...new Set([wall - before, wall - after])]
    .filter((t) => t + zone.offset(t) === wall)
    .sort((a, b) => a - b)
  if (candidates.length === 0) {
    // Skipped: an every-hour schedule has nothing to run here; others run at the jump.
    return everyHour ? [] : [zone.transition(wall - after, wall - before, after)]
  }
  // Repeated: both passes for an every-hour schedule, the first for others.
  return everyHour ? candidates : candidates.slice(0, 1)
}

interface Zone {
  /** Offset from UTC at instant `t`, in ms (positive east). */
  offset(t: number): number
  /** First instant in (lo, hi] whose offset is `to`. */
  transition(lo: number, hi: number, to: number): number
}

const zones = new Map<string, Zone>()

function zoneOf(tz: string): Zone {
  let zone = zones.get(tz)
  if (zone) return zone
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone: tz,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  })
  // Zones change offset on whole minutes, so an offset holds for the minute (cached: formatting is
  // the slow part of a walk).
  const cache = new Map<number, number>()
  const offset = (t: number): number => {
    const minute = Math.floor(t / MINUTE)
    const cached = cache.get(minute)
    if (cached !== undefined) return cached
    if (cache.size > 100_000) cache.clear()
    const at = minute * MINUTE
    const p: Record<string, number> = {}
    for (const part of format.formatToParts(at))
      if (part.type !== 'literal') p[part.type] = Number(part.value)
    const value = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!) - at
    cache.set(minute, value)
    return value
  }
  zone = {
    offset,
    transition(lo, hi, to) {
      // Offsets change on whole minutes: bisect to the minute.
      let a = Math.floor(lo / MINUTE)
      let b = Math.ceil(hi / MINUTE)
      while (b - a > 1) {
        const mid = Math.floor((a + b) / 2)
        if (offset(mid * MINUTE) === to) b = mid
        else a = mid
      }
      return b * MINUTE
    },
  }
  zones.set(tz, zone)
  return zone
}
