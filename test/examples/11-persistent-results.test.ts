import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createExampleApp, createTasks } from '../../examples/11-persistent-results.ts'
import { startTasklane } from '../support/tasklane.ts'
import { type ExampleRun, runExample } from './example-harness.ts'

describe('example 11: persistent results', () => {
  const tasks = createTasks()
  let ex: ExampleRun
  beforeAll(async () => {
    ex = await runExample(tasks, (t) => createExampleApp(t, tasks))
  })
  afterAll(() => ex?.close())

  it('GET /calculation-result/:task_id is 404 until the result exists, then reads it from any instance', async () => {
    const notYet = await ex.tasklane.addTask(tasks.complexCalculation, {}, { delay: '1h' })
    expect(await ex.get(`/calculation-result/${notYet.taskId}`)).toEqual({
      status: 404,
      body: { error: 'Result not found or not yet available' },
    })
    const started = (await ex.post('/long-calculation')).body
    expect(started).toEqual({
      message: 'Calculation started',
      task_id: expect.any(String),
      catzilla_task_id: started.task_id,
      note: 'Result will be stored for retrieval',
    })
    await ex.tasklane.waitFor(started.task_id)
    const expected = {
      calculation: 'sum_of_squares',
      range: '1 to 1,000,000',
      result: '333332833333500000',
      computed_at: expect.any(String),
    }
    expect((await ex.get(`/calculation-result/${started.task_id}`)).body).toEqual({
      task_id: started.task_id,
      result: expected,
      retrieved_at: expect.any(String),
    })
    // Another instance (another replica, or this one after a restart) answers the same.
    const other = await startTasklane(ex.db.url, Object.values(tasks), { workers: 0 })
    try {
      const res = await createExampleApp(other, tasks).request(`/calculation-result/${started.task_id}`)
      expect(((await res.json()) as { result: unknown }).result).toEqual(expected)
    } finally {
      await other.stop()
    }
  })
})
