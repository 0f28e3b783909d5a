import { describe, expect, it } from 'vitest'
import { TasklaneError } from '../../src/errors.ts'
import { nextRuns, parseCron } from '../../src/schedule/cron-slots.ts'

// Issue 19, kinds 1 and 2: the classic cron rule across DST, and steps that cannot repeat refused.
const runs = (cron: string, tz: string, from: string, to: string) =>
  nextRuns(parseCron(cron, tz), new Date(from), 200)
    .filter((t) => t.getTime() < Date.parse(to))
    .map((t) => t.toISOString().slice(0, 16))

describe('cron slots keep local time across DST (classic rule)', () => {
  describe('Europe/Berlin, spring forward 2026-03-29 (02:00 CET → 03:00 CEST at 01:00Z)', () => {
    const day = ['2026-03-28T22:00:00Z', '2026-03-29T22:00:00Z'] as const
    it('a local time in the skipped hour runs once, at the first instant after the jump', () => {
      expect(runs('0 2 * * *', 'Europe/Berlin', ...day)).toEqual(['2026-03-29T01:00'])
      expect(runs('30 2 * * *', 'Europe/Berlin', ...day)).toEqual(['2026-03-29T01:00'])
      expect(runs('*/15 2 * * *', 'Europe/Berlin', ...day)).toEqual(['2026-03-29T01:00'])
      expect(runs('0 2,3 * * *', 'Europe/Berlin', ...day)).toEqual(['2026-03-29T01:00'])
    })
    it('an hourly schedule keeps running every real hour', () => {
      expect(runs('30 * * * *', 'Europe/Berlin', '2026-03-28T23:00:00Z', '2026-03-29T03:00:00Z')).toEqual([
        '2026-03-28T23:30',
        '2026-03-29T00:30',
        '2026-03-29T01:30',
        '2026-03-29T02:30',
      ])
    })
    it('times outside the skipped hour keep their local time', () => {
      expect(runs('59 1 * * *', 'Europe/Berlin', ...day)).toEqual(['2026-03-29T00:59'])
      expect(runs('0 3 * * *', 'Europe/Berlin', ...day)).toEqual(['2026-03-29T01:00'])
      expect(runs('0 4 * * *', 'Europe/Berlin', ...day)).toEqual(['2026-03-29T02:00'])
    })
  })

  describe('Europe/Berlin, fall back 2026-10-25 (03:00 CEST → 02:00 CET at 01:00Z)', () => {
    const day = ['2026-10-24T22:00:00Z', '2026-10-25T23:00:00Z'] as const
    it('a repeated local time runs once, the first time', () => {
      expect(runs('30 2 * * *', 'Europe/Berlin', ...day)).toEqual(['2026-10-25T00:30'])
      expect(runs('*/30 2 * * *', 'Europe/Berlin', ...day)).toEqual(['2026-10-25T00:00', '2026-10-25T00:30'])
    })
    it('an hourly (or more frequent) schedule runs in both passes of the repeated hour', () => {
      expect(runs('30 * * * *', 'Europe/Berlin', '2026-10-24T23:00:00Z', '2026-10-25T03:00:00Z')).toEqual([
        '2026-10-24T23:30',
        '2026-10-25T00:30',
        '2026-10-25T01:30',
        '2026-10-25T02:30',
      ])
      expect(runs('*/20 * * * *', 'Europe/Berlin', '2026-10-25T00:30:00Z', '2026-10-25T02:00:00Z')).toEqual([
        '2026-10-25T00:40',
        '2026-10-25T01:00',
        '2026-10-25T01:20',
        '2026-10-25T01:40',
      ])
    })
  })

  describe('America/New_York, spring forward 2026-03-08 (02:00 EST → 03:00 EDT at 07:00Z)', () => {
    const day = ['2026-03-08T05:00:00Z', '2026-03-09T04:00:00Z'] as const
    it('a local time in the skipped hour runs once, at the first instant after the jump', () => {
      expect(runs('0 2 * * *', 'America/New_York', ...day)).toEqual(['2026-03-08T07:00'])
      expect(runs('30 2 * * *', 'America/New_York', ...day)).toEqual(['2026-03-08T07:00'])
    })
    it('an hourly schedule keeps running every real hour', () => {
      expect(runs('0 * * * *', 'America/New_York', '2026-03-08T05:30:00Z', '2026-03-08T09:00:00Z')).toEqual([
        '2026-03-08T06:00',
        '2026-03-08T07:00',
        '2026-03-08T08:00',
      ])
    })
  })

  describe('America/New_York, fall back 2026-11-01 (02:00 EDT → 01:00 EST at 06:00Z)', () => {
    const day = ['2026-11-01T04:00:00Z', '2026-11-02T05:00:00Z'] as const
    it('a repeated local time runs once, the first time', () => {
      expect(runs('30 1 * * *', 'America/New_York', ...day)).toEqual(['2026-11-01T05:30'])
      expect(runs('*/30 1 * * *', 'America/New_York', ...day)).toEqual([
        '2026-11-01T05:00',
        '2026-11-01T05:30',
      ])
    })
    it('an hourly schedule runs in both passes of the repeated hour', () => {
      expect(runs('0 * * * *', 'America/New_York', '2026-11-01T04:30:00Z', '2026-11-01T08:00:00Z')).toEqual([
        '2026-11-01T05:00',
        '2026-11-01T06:00',
        '2026-11-01T07:00',
      ])
    })
  })

  it('a 6-field expression names one second of the minute; several seconds are refused', () => {
    expect(
      nextRuns(parseCron('30 * * * * *', 'UTC'), new Date('2026-01-01T00:00:00Z'), 2).map((t) =>
        t.toISOString(),
      ),
    ).toEqual(['2026-01-01T00:00:30.000Z', '2026-01-01T00:01:30.000Z'])
    for (const cron of ['*/5 * * * * *', '* * * * * *', '0,30 * * * * *', '0-10 * * * * *', '60 * * * * *']) {
      let error: unknown
      try {
        parseCron(cron, 'UTC')
      } catch (err) {
        error = err
      }
      expect(error, cron).toMatchObject({ code: 'validation_failed', details: [{ path: 'cron.second' }] })
      expect((error as Error).message).toMatch(/at most once a minute/)
    }
  })
})

describe('the preview is what fires: each slot follows from the one before', () => {
  const windows = [
    ['Europe/Berlin', '2026-03-29T01:00:00Z'],
    ['Europe/Berlin', '2026-10-25T01:00:00Z'],
    ['America/New_York', '2026-03-08T07:00:00Z'],
    ['America/New_York', '2026-11-01T06:00:00Z'],
  ] as const
  const expressions = [
    '0 2 * * *',
    '30 2 * * *',
    '30 1 * * *',
    '30 * * * *',
    '*/20 * * * *',
    '*/15 2 * * *',
    '7 */2 * * *',
  ]
  it.each(windows)('%s around %s, from every 7th minute', (tz, jump) => {
    const from = Date.parse(jump) - 6 * 3_600_000
    for (const cron of expressions) {
      const spec = parseCron(cron, tz)
      const all = nextRuns(spec, new Date(from), 100).map((t) => t.getTime())
      for (let at = from; at < Date.parse(jump) + 6 * 3_600_000; at += 7 * 60_000) {
        const expected = all.find((t) => t > at)
        const [next] = nextRuns(spec, new Date(at), 1)
        expect({ cron, at: new Date(at).toISOString(), next: next?.toISOString() }).toEqual({
          cron,
          at: new Date(at).toISOString(),
          next: expected === undefined ? undefined : new Date(expected).toISOString(),
        })
      }
    }
  })
})

describe('cron input is refused, not reinterpreted', () => {
  const refusal = (cron: unknown, tz: unknown = 'UTC') => {
    try {
      parseCron(cron, tz)
    } catch (err) {
      expect(err).toBeInstanceOf(TasklaneError)
      const e = err as TasklaneError
      return { code: e.code, path: e.details[0]?.path, message: e.message }
    }
    throw new Error(`${String(cron)} was accepted`)
  }

  it.each([
    ['*/90 * * * *', 'cron.minute', /step of 90 is larger than the 60 minutes in an hour/],
    ['0 */36 * * *', 'cron.hour', /step of 36 is larger than the 24 hours in a day/],
    ['5/90 * * * *', 'cron.minute', /step of 90 is larger than the 60 minutes in an hour/],
    ['0 0 */40 * *', 'cron.dayOfMonth', /larger than the 31 days in a month/],
    ['0 0 * */13 *', 'cron.month', /larger than the 12 months in a year/],
    ['0 0 * * */8', 'cron.dayOfWeek', /larger than the 7 days in a week/],
    ['*/61 * * * * *', 'cron.second', /larger than the 60 seconds in a minute/],
    ['*/0 * * * *', 'cron.minute', /must be a whole number from 1 to 60/],
    ['0 0 * *', 'cron', /has 4 fields/],
    ['60 * * * *', 'cron', /invalid/],
    ['', 'cron', /non-empty string/],
    [42, 'cron', /non-empty string/],
  ])('%s is refused naming %s', (cron, path, message) => {
    const r = refusal(cron)
    expect(r).toMatchObject({ code: 'validation_failed', path })
    expect(r.message).toMatch(message)
  })

  it('steps up to the field size are what they say', () => {
    expect(
      nextRuns(parseCron('*/60 * * * *'), new Date('2026-01-01T00:30:00Z'), 2).map((t) => t.toISOString()),
    ).toEqual(['2026-01-01T01:00:00.000Z', '2026-01-01T02:00:00.000Z'])
    expect(parseCron('0 */24 * * *').everyHour).toBe(false)
    expect(parseCron('15 */1 * * *').everyHour).toBe(true)
  })

  it('an unknown time zone is refused naming tz', () => {
    expect(refusal('* * * * *', 'Mars/Olympus')).toMatchObject({ path: 'tz', code: 'validation_failed' })
    expect(refusal('* * * * *', 7)).toMatchObject({ path: 'tz' })
  })
})
