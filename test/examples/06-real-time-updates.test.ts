import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createExampleApp, createTasks } from '../../examples/06-real-time-updates.ts'
import { type ExampleRun, runExample, TIME_SCALE } from './example-harness.ts'

describe('example 06: real-time task updates', () => {
  const tasks = createTasks({ timeScale: TIME_SCALE })
  let ex: ExampleRun
  beforeAll(async () => {
    ex = await runExample(tasks, (t) => createExampleApp(t, tasks))
  })
  afterAll(() => ex?.close())

  it('GET /active-tasks lists what is running in any process', async () => {
    expect((await ex.get('/active-tasks')).body).toEqual({ active_tasks: [], total_count: 0 })
    const { taskId } = await ex.tasklane.addTask(tasks.longRunningTask, { steps: 1, stepMs: 600_000_000 })
    for await (const ev of ex.tasklane.events({ taskId }))
      if (ev.type === 'status' && ev.status === 'running') break
    const { body } = await ex.get('/active-tasks')
    expect(body.total_count).toBe(1)
    expect(body.active_tasks).toEqual([
      {
        id: taskId,
        task: 'long-running-task',
        status: 'running',
        progress: 0,
        current_step: null,
        started_at: expect.any(String),
      },
    ])
    await ex.tasklane.cancel(taskId)
  })

  it('GET /task-stats answers in the seed shape from getTaskStats()', async () => {
    const { taskId } = await ex.tasklane.addTask(tasks.longRunningTask, { steps: 1 })
    await ex.tasklane.waitFor(taskId)
    const { body } = await ex.get('/task-stats')
    const stats = await ex.tasklane.getTaskStats()
    expect(body.catzilla_stats.queue_metrics).toEqual({
      critical_queue_size: 0,
      high_queue_size: 0,
      normal_queue_size: 0,
      low_queue_size: 0,
      total_queued: 0,
    })
    expect(body.catzilla_stats.worker_metrics).toEqual({
      active_workers: 0,
      idle_workers: 4,
      total_workers: 4,
    })
    expect(body.catzilla_stats.performance_metrics).toEqual({
      tasks_per_second: stats.tasksPerSecond,
      avg_execution_time_ms: stats.avgExecutionTimeMs,
      memory_usage_mb: expect.any(Number),
    })
    expect(stats.tasksPerSecond).toBeGreaterThan(0)
  })

  it('GET /task-events/:task_id streams progress and the final status as SSE', async () => {
    const started = (await ex.post('/start-task')).body
    const res = await ex.app.request(`/task-events/${started.task_id}`)
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/)
    const text = await res.text() // the stream ends after the final status
    expect(text).toMatch(/event: status\ndata: .*"status":"completed"/)
    expect((await ex.get('/task-events/00000000-0000-4000-8000-000000000000')).status).toBe(404)
  })
})
