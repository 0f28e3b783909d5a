import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'

// tasks.schedule() is pg-boss cron: a cron pass (every second in tasklane's configuration) claims the
// interval in pgboss.version, finds the schedules due in the last minute and files one job per
// schedule and minute slot (a singleton key), whatever the number of instances or the expression.
const tick = defineTask({ name: 'tick', run: (args: { label: string }) => ({ label: args.label }) })

/** The first completed `tick` with this label, listening before the schedule exists. */
async function firstTick(tasklane: Tasklane, label: string): Promise<string> {
  for await (const ev of tasklane.events({ task: 'tick' })) {
    if (ev.type !== 'status' || ev.status !== 'completed') continue
    const info = await tasklane.getTask(ev.taskId)
    if ((info?.args as { label?: string } | undefined)?.label === label) return ev.taskId
  }
  throw new Error('unreachable')
}

describe('tasks.schedule', () => {
  let db: TestDatabase
  beforeAll(async () => {
    db = await createTestDatabase()
  })
  afterAll(async () => {
    await db?.drop()
  })

  const ticks = async (label: string) =>
    (
      await db.query(
        `select count(*)::int as n from pgboss.job where data->>'task' = 'tick' and data->'args'->>'label' = $1`,
        [label],
      )
    ).rows[0].n

  /** Resolves after `n` more cron passes (each moves pgboss.version.cron_on), whichever instance ran them. */
  async function cronPasses(n: number): Promise<void> {
    const read = async () => String((await db.query('select cron_on from pgboss.version')).rows[0].cron_on)
    let last = await read()
    for (let seen = 0; seen < n; ) {
      await new Promise((r) => setTimeout(r, 100))
      const now = await read()
      if (now !== last) [seen, last] = [seen + 1, now]
    }
  }

  it('runs a slot once with two instances on the database, even for a per-second expression', async () => {
    const [a, b] = await Promise.all([
      startTasklane(db.url, [tick], { workers: 1 }),
      startTasklane(db.url, [tick], { workers: 1 }),
    ])
    try {
      // Every second of the current minute (6 fields: seconds first). Only this minute matches
      // (until tomorrow), so exactly one slot, hence one job, is ever due.
      const now = new Date()
      const cron = `* ${now.getUTCMinutes()} ${now.getUTCHours()} * * *`
      const first = firstTick(b, 'per-second')
      await a.schedule('tick', cron, { label: 'per-second' }, { key: 'per-second' })
      await first
      await cronPasses(3)
      expect(await ticks('per-second')).toBe(1)
      await a.unschedule('tick', { key: 'per-second' })
    } finally {
      await Promise.all([a.stop(), b.stop()])
    }
  })

  it('survives a restart: the schedule lives in Postgres', async () => {
    const before = await startTasklane(db.url, [tick], { workers: 0, supervise: false })
    await before.schedule('tick', '* * * * *', { label: 'restart' }, { key: 'restart' })
    await before.stop()
    const after = await startTasklane(db.url, [tick], { workers: 1 })
    try {
      expect(await after.listSchedules()).toEqual([
        expect.objectContaining({ key: 'restart', cron: '* * * * *' }),
      ])
      const first = firstTick(after, 'restart')
      await first
      await after.unschedule('tick', { key: 'restart' })
      expect(await after.listSchedules()).toEqual([])
    } finally {
      await after.stop()
    }
  })

  it('honours tz: an expression for the current hour in Kathmandu fires; the same one in UTC does not', async () => {
    const tasklane = await startTasklane(db.url, [tick], { workers: 1 })
    try {
      // Kathmandu is UTC+5:45, so its hour (and the next) is never the UTC hour.
      const hour = Number(
        new Intl.DateTimeFormat('en-GB', {
          timeZone: 'Asia/Kathmandu',
          hour: 'numeric',
          hourCycle: 'h23',
        }).format(new Date()),
      )
      const cron = `* ${hour},${(hour + 1) % 24} * * *`
      const first = firstTick(tasklane, 'kathmandu')
      await tasklane.schedule('tick', cron, { label: 'utc' }, { key: 'utc', tz: 'UTC' })
      await tasklane.schedule(
        'tick',
        cron,
        { label: 'kathmandu' },
        { key: 'kathmandu', tz: 'Asia/Kathmandu' },
      )
      await first
      // Both schedules are judged in the same cron pass: by now the UTC one would have fired too.
      await cronPasses(2)
      expect(await ticks('kathmandu')).toBe(1)
      expect(await ticks('utc')).toBe(0)
      const schedules = await tasklane.listSchedules()
      expect(schedules.find((s) => s.key === 'kathmandu')).toMatchObject({ timezone: 'Asia/Kathmandu' })
      await expect(tasklane.schedule('tick', cron, {}, { key: 'bad', tz: 'Mars/Olympus' })).rejects.toThrow(
        /cannot schedule 'tick'/,
      )
    } finally {
      await tasklane.stop()
    }
  })

  it('accepts 6-field (seconds) expressions, whose occurrences pg-boss lists by the second', async () => {
    const tasklane = await startTasklane(db.url, [tick], { workers: 0, supervise: false })
    try {
      const from = new Date('2026-01-01T00:00:00Z')
      const next = tasklane.boss.previewSchedule('*/10 * * * * *', { from, count: 3 })
      expect(next.map((d) => d.toISOString())).toEqual([
        '2026-01-01T00:00:10.000Z',
        '2026-01-01T00:00:20.000Z',
        '2026-01-01T00:00:30.000Z',
      ])
    } finally {
      await tasklane.stop()
    }
  })
})
