import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createExampleApp, createTasks } from '../../examples/07-error-recovery.ts'
import { type ExampleRun, runExample, TIME_SCALE } from './example-harness.ts'

describe('example 07: task error recovery', () => {
  const tasks = createTasks({ timeScale: TIME_SCALE })
  let ex: ExampleRun
  beforeAll(async () => {
    ex = await runExample(tasks, (t) => createExampleApp(t, tasks))
  })
  afterAll(() => ex?.close())

  it('POST /unreliable-task enqueues a HIGH task with four attempts', async () => {
    const { body } = await ex.post('/unreliable-task')
    expect(body).toEqual({
      message: 'Unreliable task started',
      task_id: expect.any(String),
      note: expect.any(String),
    })
    // Its outcome is random (and a retry waits 1 s): the next test drives each outcome.
    const info = await ex.tasklane.getTask(body.task_id)
    expect(info).toMatchObject({ task: 'unreliable-operation', priority: 'HIGH', maxAttempts: 4 })
  })

  it('retries a failing operation, records every failure, and fails once retries are spent', async () => {
    const fast = { retry: { limit: 3, delay: 0, backoff: 'fixed' as const } }
    const failing = await ex.tasklane.addTask(tasks.unreliableOperation, { failureRate: 1 }, fast)
    const failed = await ex.tasklane.waitFor(failing.taskId)
    expect(failed).toMatchObject({
      status: 'failed',
      attempts: 4,
      error: { type: 'NetworkError', message: 'Simulated network error', retryable: true },
    })
    const attempts = await ex.tasklane.getAttempts(failing.taskId)
    expect(attempts.length).toBeGreaterThanOrEqual(3)
    const ok = await ex.tasklane.addTask(tasks.unreliableOperation, { failureRate: 0 }, fast)
    expect((await ex.tasklane.waitFor(ok.taskId)).result).toEqual({
      status: 'success',
      data: 'Operation completed',
    })
  })
})
