import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createExampleApp, createTasks } from '../../examples/08-custom-error-handlers.ts'
import { type ExampleRun, runExample } from './example-harness.ts'

describe('example 08: custom error handlers', () => {
  const tasks = createTasks()
  let ex: ExampleRun
  beforeAll(async () => {
    ex = await runExample(tasks, (t) => createExampleApp(t, tasks))
  })
  afterAll(() => ex?.close())

  it('POST /task-with-error-handling enqueues the task (its outcome is random: the next test drives each)', async () => {
    const { body } = await ex.post('/task-with-error-handling')
    expect(body).toEqual({
      message: 'Task with error handling started',
      task_id: expect.any(String),
      note: expect.any(String),
    })
    expect(await ex.tasklane.getTask(body.task_id)).toMatchObject({
      task: 'potentially-failing-task',
      maxAttempts: 3,
    })
  })

  it('retries connection errors, fails validation errors at once', async () => {
    const fast = { retry: { limit: 2, delay: 0 } }
    const run = async (outcome: 'connection' | 'validation' | 'success') =>
      ex.tasklane.waitFor((await ex.tasklane.addTask(tasks.potentiallyFailingTask, { outcome }, fast)).taskId)
    expect(await run('connection')).toMatchObject({
      status: 'failed',
      attempts: 3,
      error: { type: 'ConnectionError', message: 'Failed to connect to external service', retryable: true },
    })
    expect(await run('validation')).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: { type: 'NonRetryableError', message: 'Invalid data format', retryable: false },
    })
    expect(await run('success')).toMatchObject({ status: 'completed', result: { status: 'success' } })
  })
})
