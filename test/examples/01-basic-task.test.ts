import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createExampleApp, createTasks } from '../../examples/01-basic-task.ts'
import { type ExampleRun, runExample, TIME_SCALE } from './example-harness.ts'

describe('example 01: basic background task', () => {
  const tasks = createTasks({ timeScale: TIME_SCALE })
  let ex: ExampleRun
  beforeAll(async () => {
    ex = await runExample(tasks, (t) => createExampleApp(t, tasks))
  })
  afterAll(() => ex?.close())

  it('POST /start-task runs the ten steps in the background, with progress and a stored result', async () => {
    expect(await ex.get('/')).toEqual({ status: 200, body: { message: 'Hello with background tasks!' } })
    const { status, body } = await ex.post('/start-task')
    expect(status).toBe(200)
    expect(body).toEqual({ message: 'Task started', task_id: expect.any(String), status: 'queued' })
    const done = await ex.tasklane.waitFor(body.task_id)
    expect(done).toMatchObject({
      status: 'completed',
      result: { result: 'Task completed successfully' },
      progress: { percent: 100, step: 'Task progress: 10/10' },
    })
  })
})
