import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createExampleApp, createTasks } from '../../examples/03-delayed-execution.ts'
import { type ExampleRun, runExample, TIME_SCALE } from './example-harness.ts'

describe('example 03: delayed execution', () => {
  const tasks = createTasks({ timeScale: TIME_SCALE })
  let ex: ExampleRun
  beforeAll(async () => {
    ex = await runExample(tasks, (t) => createExampleApp(t, tasks))
  })
  afterAll(() => ex?.close())

  it('POST /schedule-reminder runs it now, or later when asked', async () => {
    const now = (await ex.post('/schedule-reminder')).body
    expect(now).toEqual({
      message: 'Reminder scheduled',
      task_id: expect.any(String),
      scheduled_for: expect.any(String),
    })
    expect((await ex.tasklane.waitFor(now.task_id)).result).toMatchObject({ notification: 'Reminder sent' })

    const at = new Date(Date.now() + 86_400_000).toISOString()
    const later = (await ex.post('/schedule-reminder', { at })).body
    expect(later.scheduled_for).toBe(at)
    expect((await ex.tasklane.getTask(later.task_id))?.status).toBe('scheduled')
    const inTenMinutes = (await ex.post('/schedule-reminder', { delay: '10m' })).body
    expect(Date.parse(inTenMinutes.scheduled_for) - Date.now()).toBeGreaterThan(9 * 60_000)
  })

  it('answers 400 for a bad delay, naming the field', async () => {
    const { status, body } = await ex.post('/schedule-reminder', { delay: 'soon' })
    expect(status).toBe(400)
    expect(body.error).toMatchObject({ code: 'validation_failed', details: [{ path: 'delay' }] })
  })
})
