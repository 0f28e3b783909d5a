import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createExampleApp, createTasks } from '../../examples/04-recurring-tasks.ts'
import { type ExampleRun, runExample } from './example-harness.ts'

// That the schedule fires once per slot across replicas, survives restarts and honours tz is
// tested in test/schedule/.
describe('example 04: recurring tasks', () => {
  const tasks = createTasks()
  let ex: ExampleRun
  beforeAll(async () => {
    ex = await runExample(tasks, (t) => createExampleApp(t, tasks))
  })
  afterAll(() => ex?.close())

  it('POST /start-monitoring schedules a real recurring check and runs one now', async () => {
    const { body } = await ex.post('/start-monitoring')
    expect(body).toEqual({
      message: 'System monitoring started',
      task_id: expect.any(String),
      interval: "cron '* * * * *' (UTC)",
      note: expect.stringContaining('Recurring'),
    })
    expect(await ex.tasklane.listSchedules()).toEqual([
      expect.objectContaining({ key: 'check-system-health', cron: '* * * * *', timezone: 'UTC' }),
    ])
    const check = await ex.tasklane.waitFor(body.task_id)
    expect(check.result).toEqual({
      cpu_percent: expect.any(Number),
      memory_percent: expect.any(Number),
      timestamp: expect.any(String),
    })
  })

  it('takes another cron and time zone, refuses a bad one, and stops', async () => {
    await ex.post('/start-monitoring', { cron: '0 9 * * 1-5', tz: 'Europe/Paris' })
    expect(await ex.tasklane.listSchedules()).toEqual([
      expect.objectContaining({ cron: '0 9 * * 1-5', timezone: 'Europe/Paris' }),
    ])
    const bad = await ex.post('/start-monitoring', { cron: 'every day at nine' })
    expect(bad.status).toBe(400)
    expect(bad.body.error.code).toBe('validation_failed')
    expect((await ex.post('/stop-monitoring')).body).toEqual({ message: 'System monitoring stopped' })
    expect(await ex.tasklane.listSchedules()).toEqual([])
  })
})
