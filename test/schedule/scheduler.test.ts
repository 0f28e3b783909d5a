import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { TasklaneError } from '../../src/errors.ts'
import { tasklaneRoutes } from '../../src/http/routes.ts'
import { engineOf } from '../../src/internal.ts'
import { createLogger } from '../../src/logger.ts'
import { type FiredSlot, Scheduler } from '../../src/schedule/scheduler.ts'
import { previewSchedule, scheduleTask } from '../../src/schedule/schedules.ts'
import type { Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { TaskPriority } from '../../src/tasks/priority.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'

// Issue 19, kinds 1–3, through the database with an injected clock: what fires is what the preview
// lists (across both DST transitions in two zones), each slot once across replicas, with the task
// definition deployed when it fires. supervise: false keeps each instance's own (real-clock) scheduler off.
const tick = defineTask({ name: 'tick', schema: z.object({ label: z.string() }), run: () => null })

class Clock {
  at: Date
  constructor(at: Date) {
    this.at = at
  }
  now = () => this.at
  set(iso: string) {
    this.at = new Date(iso)
  }
}

function schedulerFor(t: Tasklane, clock: Clock): Scheduler {
  return new Scheduler({
    db: engineOf(t).db,
    store: engineOf(t).store,
    registry: engineOf(t).registry,
    log: createLogger('silent'),
    clock: clock.now,
  })
}

describe('the scheduler', () => {
  let db: TestDatabase
  let t: Tasklane

  beforeAll(async () => {
    db = await createTestDatabase()
    t = await startTasklane(db.url, [tick], { workers: 0, supervise: false })
  })
  afterAll(async () => {
    await t?.stop()
    await db?.drop()
  })
  afterEach(async () => {
    await db.query('delete from tasklane.schedule')
  })

  const transitions = [
    ['Europe/Berlin', '2026-03-29T01:00:00Z'],
    ['Europe/Berlin', '2026-10-25T01:00:00Z'],
    ['America/New_York', '2026-03-08T07:00:00Z'],
    ['America/New_York', '2026-11-01T06:00:00Z'],
  ] as const
  const expressions = ['0 2 * * *', '30 2 * * *', '30 1 * * *', '30 * * * *', '*/20 * * * *', '*/15 2 * * *']

  it.each(transitions)(
    '%s around %s: fires exactly what the preview lists',
    async (tz, jump) => {
      const from = new Date(Date.parse(jump) - 4 * 3_600_000)
      const to = new Date(Date.parse(jump) + 4 * 3_600_000)
      const clock = new Clock(from)
      const deps = { db: engineOf(t).db, registry: engineOf(t).registry, clock: clock.now }
      const previews: Record<string, string[]> = {}
      for (const cron of expressions) {
        await scheduleTask(deps, 'tick', cron, { label: cron }, { tz, key: cron })
        previews[cron] = (await previewSchedule(deps, cron, { tz, from, count: 50 })).filter(
          (iso) => iso <= to.toISOString(),
        )
      }
      const scheduler = schedulerFor(t, clock)
      const fired: FiredSlot[] = []
      // Five-minute steps of the injected clock; every expression here is at least 15 minutes apart.
      for (let at = from.getTime(); at <= to.getTime(); at += 5 * 60_000) {
        clock.set(new Date(at).toISOString())
        fired.push(...(await scheduler.runOnce()))
      }
      for (const cron of expressions) {
        const slots = fired.filter((f) => f.key === cron).map((f) => f.slot.toISOString())
        expect({ cron, slots }).toEqual({ cron, slots: previews[cron] })
      }
      // Each fired slot enqueued one task, with the schedule's args.
      const jobs = await db.query(`select count(*)::int as n from pgboss.job where id = any($1::uuid[])`, [
        fired.map((f) => f.taskId),
      ])
      expect(jobs.rows[0].n).toBe(fired.length)
      const byKey = (cron: string) =>
        fired.filter((f) => f.key === cron).map((f) => f.slot.toISOString().slice(0, 16))
      if (jump === '2026-03-29T01:00:00Z') {
        expect(byKey('0 2 * * *')).toEqual(['2026-03-29T01:00'])
        expect(byKey('30 2 * * *')).toEqual(['2026-03-29T01:00'])
        expect(byKey('*/15 2 * * *')).toEqual(['2026-03-29T01:00'])
      }
      if (jump === '2026-10-25T01:00:00Z') {
        expect(byKey('30 2 * * *')).toEqual(['2026-10-25T00:30'])
        expect(byKey('30 * * * *').filter((s) => s >= '2026-10-25T00:00' && s < '2026-10-25T02:00')).toEqual([
          '2026-10-25T00:30',
          '2026-10-25T01:30',
        ])
      }
      if (jump === '2026-03-08T07:00:00Z') expect(byKey('30 2 * * *')).toEqual(['2026-03-08T07:00'])
      if (jump === '2026-11-01T06:00:00Z') {
        expect(byKey('30 1 * * *')).toEqual(['2026-11-01T05:30'])
        expect(byKey('30 * * * *').filter((s) => s >= '2026-11-01T05:00' && s < '2026-11-01T07:00')).toEqual([
          '2026-11-01T05:30',
          '2026-11-01T06:30',
        ])
      }
      await db.query(`delete from pgboss.job where name = 'default'`)
    },
    60_000,
  )

  it('listSchedules shows the next runs, matching the preview', async () => {
    const clock = new Clock(new Date('2026-03-28T12:00:00Z'))
    const deps = { db: engineOf(t).db, registry: engineOf(t).registry, clock: clock.now }
    await scheduleTask(deps, 'tick', '30 2 * * *', { label: 'x' }, { tz: 'Europe/Berlin' })
    const [info] = await t.listSchedules({ count: 3 })
    expect(info).toMatchObject({ task: 'tick', key: 'tick', cron: '30 2 * * *', timezone: 'Europe/Berlin' })
    expect(info!.nextRuns).toEqual([
      '2026-03-29T01:00:00.000Z',
      '2026-03-30T00:30:00.000Z',
      '2026-03-31T00:30:00.000Z',
    ])
    expect(
      await t.previewSchedule('30 2 * * *', { tz: 'Europe/Berlin', from: '2026-03-28T12:00:00Z', count: 3 }),
    ).toEqual(info!.nextRuns)
  })

  it('GET /schedules and GET /schedules/preview', async () => {
    const clock = new Clock(new Date('2026-10-24T12:00:00Z'))
    await scheduleTask(
      { db: engineOf(t).db, registry: engineOf(t).registry, clock: clock.now },
      'tick',
      '30 2 * * *',
      { label: 'h' },
      {
        tz: 'Europe/Berlin',
      },
    )
    const app = tasklaneRoutes(t)
    const list = await app.request('/schedules?count=2')
    expect(list.status).toBe(200)
    expect(((await list.json()) as { items: unknown[] }).items).toEqual([
      expect.objectContaining({
        key: 'tick',
        nextRuns: ['2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z'],
      }),
    ])
    const preview = await app.request(
      `/schedules/preview?cron=${encodeURIComponent('30 2 * * *')}&tz=Europe/Berlin&from=2026-10-24T12:00:00Z&count=2`,
    )
    expect(await preview.json()).toEqual({ runs: ['2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z'] })
    for (const [query, path] of [
      [`cron=${encodeURIComponent('*/90 * * * *')}`, 'cron.minute'],
      [`cron=${encodeURIComponent('0 */36 * * *')}`, 'cron.hour'],
      [`cron=${encodeURIComponent('* * * * *')}&tz=Nowhere`, 'tz'],
      [`cron=${encodeURIComponent('* * * * *')}&count=0`, 'count'],
      [`cron=${encodeURIComponent('* * * * *')}&from=2026-10-24T12:00:00`, 'from'],
    ] as const) {
      const res = await app.request(`/schedules/preview?${query}`)
      expect({ query, status: res.status }).toEqual({ query, status: 400 })
      const body = (await res.json()) as { error: { code: string; details: { path: string }[] } }
      expect({ query, code: body.error.code, path: body.error.details[0]?.path }).toEqual({
        query,
        code: 'validation_failed',
        path,
      })
    }
  })

  it('each slot fires once with two replicas passing at the same instant', async () => {
    const other = await startTasklane(db.url, [tick], { workers: 0, supervise: false })
    try {
      const clock = new Clock(new Date('2026-06-01T00:00:00Z'))
      await scheduleTask(
        { db: engineOf(t).db, registry: engineOf(t).registry, clock: clock.now },
        'tick',
        '* * * * *',
        { label: 'r' },
        {},
      )
      const a = schedulerFor(t, clock)
      const b = schedulerFor(other, clock)
      const fired: FiredSlot[] = []
      for (let i = 1; i <= 20; i++) {
        clock.set(new Date(Date.parse('2026-06-01T00:00:00Z') + i * 60_000).toISOString())
        const [x, y] = await Promise.all([a.runOnce(), b.runOnce()])
        fired.push(...x, ...y)
      }
      const slots = fired.map((f) => f.slot.toISOString())
      expect(slots.length).toBe(20)
      expect(new Set(slots).size).toBe(20)
    } finally {
      await other.stop()
      await db.query(`delete from pgboss.job where name = 'default'`)
    }
  })

  it('calling schedule() again (a replica booting) keeps the pending slot', async () => {
    const clock = new Clock(new Date('2026-06-01T00:00:30Z'))
    const deps = { db: engineOf(t).db, registry: engineOf(t).registry, clock: clock.now }
    await scheduleTask(deps, 'tick', '* * * * *', { label: 'boot' }, {})
    clock.set('2026-06-01T00:01:20Z') // the 00:01 slot is due, not yet fired
    await scheduleTask(deps, 'tick', '* * * * *', { label: 'boot' }, {})
    const fired = await schedulerFor(t, clock).runOnce()
    expect(fired.map((f) => f.slot.toISOString())).toEqual(['2026-06-01T00:01:00.000Z'])
    await db.query(`delete from pgboss.job where name = 'default'`)
  })

  it('refuses each bad part of schedule() by name, writing nothing', async () => {
    const cases: [unknown[], string, RegExp][] = [
      [['nope', '* * * * *', { label: 'x' }], 'task', /unknown task "nope"/],
      [['tick', '*/90 * * * *', { label: 'x' }], 'cron.minute', /step of 90/],
      [['tick', '0 */36 * * *', { label: 'x' }], 'cron.hour', /step of 36/],
      [['tick', '5/90 * * * *', { label: 'x' }], 'cron.minute', /step of 90/],
      [['tick', 'every day', { label: 'x' }], 'cron', /fields/],
      [['tick', '* * * * *', { label: 3 }], 'args.label', /string/],
      [['tick', '* * * * *', { label: 'x' }, { tz: 'Mars/Olympus' }], 'tz', /not a time zone/],
      [['tick', '* * * * *', { label: 'x' }, { key: '' }], 'key', /1 to 200 characters/],
      [['tick', '* * * * *', { label: 'x' }, { timezone: 'UTC' }], 'timezone', /did you mean 'tz'/],
    ]
    for (const [args, path, message] of cases) {
      const err = await (t.schedule as (...a: unknown[]) => Promise<void>)(...args).catch((e: unknown) => e)
      expect(err, JSON.stringify(args)).toBeInstanceOf(TasklaneError)
      expect({
        args,
        code: (err as TasklaneError).code,
        path: (err as TasklaneError).details[0]?.path,
      }).toEqual({
        args,
        code: 'validation_failed',
        path,
      })
      expect((err as Error).message).toMatch(message)
    }
    expect(await t.listSchedules()).toEqual([])
  })
})

describe('a scheduled task runs with the definition deployed now', () => {
  let db: TestDatabase
  beforeAll(async () => {
    db = await createTestDatabase()
  })
  afterAll(async () => {
    await db?.drop()
  })

  it('deploy 2 changes priority, retry and timeout without calling schedule() again', async () => {
    const run = () => null
    const v1 = defineTask({ name: 'rep', timeout: '5s', retry: { limit: 0 }, run })
    const v2 = defineTask({
      name: 'rep',
      timeout: '1h',
      retry: { limit: 5 },
      priority: TaskPriority.HIGH,
      run,
    })
    const clock = new Clock(new Date('2026-06-01T00:00:10Z'))
    const deploy1 = await startTasklane(db.url, [v1], { workers: 0, supervise: false })
    await scheduleTask(
      { db: engineOf(deploy1).db, registry: engineOf(deploy1).registry, clock: clock.now },
      'rep',
      '* * * * *',
      {},
      {},
    )
    await deploy1.stop()

    const deploy2 = await startTasklane(db.url, [v2], { workers: 0, supervise: false })
    try {
      clock.set('2026-06-01T00:01:05Z')
      const [slot] = await schedulerFor(deploy2, clock).runOnce()
      const fired = await deploy2.getTask(slot!.taskId!)
      const added = await deploy2.getTask((await deploy2.addTask(v2, {})).taskId)
      expect(fired).toMatchObject({ task: 'rep', priority: 'HIGH', maxAttempts: 6 })
      expect({ priority: fired!.priority, maxAttempts: fired!.maxAttempts }).toEqual({
        priority: added!.priority,
        maxAttempts: added!.maxAttempts,
      })
      const expiry = await db.query(
        `select id, expire_seconds, retry_limit, priority from pgboss.job where id = any($1::uuid[]) order by id`,
        [[slot!.taskId, added!.taskId]],
      )
      expect(expiry.rows.map((r) => r.expire_seconds)).toEqual([3660, 3660])
    } finally {
      await deploy2.stop()
    }
  })
})
