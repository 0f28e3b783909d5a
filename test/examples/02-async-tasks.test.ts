import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createExampleApp, createTasks } from '../../examples/02-async-tasks.ts'
import { type ExampleRun, runExample, TIME_SCALE } from './example-harness.ts'

describe('example 02: async background tasks', () => {
  const tasks = createTasks({ timeScale: TIME_SCALE })
  let ex: ExampleRun
  beforeAll(async () => {
    ex = await runExample(tasks, (t) => createExampleApp(t, tasks))
  })
  afterAll(() => ex?.close())

  it('POST /fetch-data returns an estimate, then the five chunks', async () => {
    const first = (await ex.post('/fetch-data')).body
    expect(first).toEqual({
      message: 'Async task started',
      task_id: expect.any(String),
      estimated_duration: 'under 1 second',
    })
    const done = await ex.tasklane.waitFor(first.task_id)
    expect(done.result).toEqual({
      data: ['Data chunk 1', 'Data chunk 2', 'Data chunk 3', 'Data chunk 4', 'Data chunk 5'],
      total_items: 5,
    })
    expect(done.progress?.percent).toBe(100)
    // Estimates now come from recorded run times (milliseconds here, at 1/1000 speed).
    expect((await ex.post('/fetch-data')).body.estimated_duration).toBe('under 1 second')
  })
})
