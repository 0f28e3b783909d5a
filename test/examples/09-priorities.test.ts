import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createExampleApp, createTasks } from '../../examples/09-priorities.ts'
import { type ExampleRun, runExample, TIME_SCALE } from './example-harness.ts'

describe('example 09: task queues and priorities', () => {
  const tasks = createTasks({ timeScale: TIME_SCALE })
  let ex: ExampleRun
  beforeAll(async () => {
    ex = await runExample(tasks, (t) => createExampleApp(t, tasks))
  })
  afterAll(() => ex?.close())

  it('POST /priority-task enqueues at HIGH', async () => {
    const { body } = await ex.post('/priority-task')
    expect(body).toEqual({
      message: 'High priority task scheduled',
      task_id: expect.any(String),
      priority: 'HIGH',
    })
    const done = await ex.tasklane.waitFor(body.task_id)
    expect(done).toMatchObject({ priority: 'HIGH', result: { maintenance: 'completed', systems: 'healthy' } })
  })

  it('POST /batch-processing enqueues ten tasks in one call; each keeps its own item', async () => {
    const { body } = await ex.post('/batch-processing')
    expect(body).toMatchObject({ message: 'Batch processing started', total_items: 10 })
    expect(new Set(body.batch_tasks).size).toBe(10)
    const done = await Promise.all(body.batch_tasks.map((id: string) => ex.tasklane.waitFor(id)))
    expect(done.map((t) => t.result)).toEqual(
      Array.from({ length: 10 }, (_, i) => ({ item_id: i, processed: true })),
    )
  })
})
