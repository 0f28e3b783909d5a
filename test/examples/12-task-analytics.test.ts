import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createExampleApp, createTasks } from '../../examples/12-task-analytics.ts'
import { type ExampleRun, runExample, TIME_SCALE } from './example-harness.ts'

describe('example 12: task analytics', () => {
  const tasks = createTasks({ timeScale: TIME_SCALE })
  let ex: ExampleRun
  beforeAll(async () => {
    ex = await runExample(tasks, (t) => createExampleApp(t, tasks))
    const fast = { retry: { limit: 1, delay: 0 } }
    const ok = await ex.tasklane.addTasks(
      tasks.sampleWork,
      Array.from({ length: 9 }, () => ({ ms: 20 })),
      fast,
    )
    const bad = await ex.tasklane.addTask(tasks.sampleWork, { ms: 1, fail: true }, fast)
    await Promise.all([...ok, bad].map((t) => ex.tasklane.waitFor(t.taskId)))
  })
  afterAll(() => ex?.close())

  it('GET /task-analytics answers in the seed shape from the history', async () => {
    const { body } = await ex.get('/task-analytics')
    expect(body).toMatchObject({
      total_tasks_executed: 10,
      error_metrics: { failed_tasks: 1, error_rate: 0.1 },
      queue_status: { total_queued: 0, queue_pressure: 0 },
      worker_status: { active_workers: 0, total_workers: 4 },
    })
    expect(body.performance_metrics).toEqual({
      tasks_per_second: expect.any(Number),
      average_execution_time_ms: expect.any(Number),
      p95_execution_time_ms: expect.any(Number),
    })
    expect(body.performance_metrics.tasks_per_second).toBeGreaterThan(0)
    expect(body.uptime_seconds).toEqual(expect.any(Number))
  })

  it('GET /task-performance formats the same figures', async () => {
    const { body } = await ex.get('/task-performance')
    expect(body.performance_summary).toEqual({
      throughput: expect.stringMatching(/^\d+\.\d\d tasks\/sec$/),
      avg_response_time: expect.stringMatching(/^\d+\.\d\dms$/),
      memory_efficiency: expect.stringMatching(/^\d+\.\d%$/),
      worker_utilization: expect.stringMatching(/^\d+\.\d%$/),
    })
    expect(Object.keys(body.detailed_metrics.resource_usage)).toEqual([
      'cpu_usage',
      'memory_mb',
      'engine_cpu',
    ])
  })

  it('GET /task-analytics/by-task breaks it down per task and bucket', async () => {
    const { body } = await ex.get('/task-analytics/by-task?window=1h&bucket=1h')
    const completed = body.rows.reduce((n: number, r: { completed: number }) => n + r.completed, 0)
    expect(completed).toBe(9)
    expect(body.rows[0]).toMatchObject({ task: 'sample-work' })
    expect((await ex.get('/task-analytics/by-task?window=1h&bucket=1ms')).status).toBe(400)
  })
})
