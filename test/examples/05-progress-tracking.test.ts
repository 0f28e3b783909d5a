import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createExampleApp, createTasks, STEPS } from '../../examples/05-progress-tracking.ts'
import { type ExampleRun, runExample } from './example-harness.ts'

describe('example 05: progress tracking', () => {
  // 1 s a step, as the example itself: after the first step's progress the task still runs for 6 s,
  // margin enough to read it while it runs on a loaded machine (50 ms steps were not always).
  const tasks = createTasks({ timeScale: 1 })
  let ex: ExampleRun
  beforeAll(async () => {
    ex = await runExample(tasks, (t) => createExampleApp(t, tasks))
  })
  afterAll(() => ex?.close())

  it('GET /task-progress/:task_id reads progress from the database while it runs, then the result', async () => {
    const started = (await ex.post('/process-data')).body
    expect(started).toEqual({
      message: 'Data processing started',
      task_id: expect.any(String),
      catzilla_task_id: started.task_id,
      progress_available: true,
    })
    for await (const ev of ex.tasklane.events({ taskId: started.task_id })) {
      if (ev.type === 'progress') break
    }
    const midway = (await ex.get(`/task-progress/${started.task_id}`)).body
    expect(midway).toMatchObject({ status: 'running', started_at: expect.any(String), result: null })
    expect(midway.progress_percent).toBeGreaterThanOrEqual(14)
    expect(STEPS).toContain(midway.current_step)

    await ex.tasklane.waitFor(started.task_id)
    expect((await ex.get(`/task-progress/${started.task_id}`)).body).toEqual({
      task_id: started.task_id,
      progress_percent: 100,
      current_step: 'Saving results...',
      status: 'completed',
      started_at: expect.any(String),
      result: { processed_records: 1000, generated_file: 'report_2024.pdf', processing_time: '7 seconds' },
    })
  })

  it('answers 404 for an unknown task', async () => {
    expect(await ex.get('/task-progress/data_1234abcd')).toEqual({
      status: 404,
      body: { error: 'Task not found' },
    })
    expect((await ex.get('/task-progress/00000000-0000-4000-8000-000000000000')).status).toBe(404)
  })
})
