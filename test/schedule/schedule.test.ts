import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { engineOf } from '../../src/internal.ts'
import type { Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'

// tasks.schedule() in real time: the schedule lives in tasklane.schedule, and a supervising process's
// scheduler fires its slots (each once across replicas: test/schedule/scheduler.test.ts and
// test/faults/cron-replicas.test.ts). The DST rule is tested with an injected clock in scheduler.test.ts.
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

  it('survives a restart: the schedule lives in Postgres, and fires in real time', async () => {
    const before = await startTasklane(db.url, [tick], { workers: 0, supervise: false })
    await before.schedule('tick', '* * * * *', { label: 'restart' }, { key: 'restart' })
    await before.stop()
    const after = await startTasklane(db.url, [tick], { workers: 1 })
    try {
      expect(await after.listSchedules()).toEqual([
        expect.objectContaining({ key: 'restart', cron: '* * * * *', timezone: 'UTC' }),
      ])
      const [pending] = (await after.listSchedules())[0]!.nextRuns
      // The next minute slot: up to 60 s of waiting, by design of a per-minute schedule.
      const taskId = await firstTick(after, 'restart')
      const info = await after.getTask(taskId)
      expect(Date.parse(info!.createdAt)).toBeGreaterThanOrEqual(Date.parse(pending!))
      const [row] = await after.listSchedules()
      expect(row).toMatchObject({ lastRunAt: pending, lastTaskId: taskId })
      expect(await after.unschedule('tick', { key: 'restart' })).toBe(true)
      expect(await after.listSchedules()).toEqual([])
    } finally {
      await after.stop()
    }
    // Up to 60 s for the slot, by design; the rest is margin for two starts and a stop on a loaded
    // 2-core machine.
  }, 180_000)

  it("moves schedules made by earlier releases with pg-boss's cron into tasklane's scheduler", async () => {
    const t = await startTasklane(db.url, [tick], { workers: 0, supervise: false })
    try {
      await engineOf(t).store.boss.schedule(
        'default',
        '0 3 * * *',
        { task: 'tick', args: { label: 'legacy' } },
        {
          tz: 'Europe/Paris',
          key: 'legacy',
        },
      )
      const moved = await engineOf(t).store.boss.getSchedules('default')
      expect(moved.map((s) => s.key)).toEqual(['legacy'])
      const { Scheduler } = await import('../../src/schedule/scheduler.ts')
      const { createLogger } = await import('../../src/logger.ts')
      const scheduler = new Scheduler({
        db: engineOf(t).db,
        store: engineOf(t).store,
        registry: engineOf(t).registry,
        log: createLogger('silent'),
      })
      expect(await scheduler.adoptBossSchedules()).toBe(1)
      expect(await engineOf(t).store.boss.getSchedules('default')).toEqual([])
      expect(await t.listSchedules()).toEqual([
        expect.objectContaining({
          task: 'tick',
          key: 'legacy',
          cron: '0 3 * * *',
          timezone: 'Europe/Paris',
          args: { label: 'legacy' },
        }),
      ])
      await t.unschedule('tick', { key: 'legacy' })
    } finally {
      await t.stop()
    }
  })
})
