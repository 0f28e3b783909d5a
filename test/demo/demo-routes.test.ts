import type { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDemoRoutes } from '../../src/demo/demo-routes.ts'
import { createDemoTasks, DATA_PROCESSING_STEPS } from '../../src/demo/demo-tasks.ts'
import type { Tasklane } from '../../src/tasklane.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'

// biome-ignore lint/suspicious/noExplicitAny: response bodies are asserted field by field
type Json = any

// Every seed route of the demo module, in process, against a real database; sleeps scaled to 1/1000.
const demo = createDemoTasks({ timeScale: 0.001 })

async function call(app: Hono, method: 'GET' | 'POST', path: string, body?: string) {
  const res = await app.request(path, {
    method,
    ...(body === undefined ? {} : { body, headers: { 'content-type': 'application/json' } }),
  })
  return { status: res.status, body: (await res.json()) as Json }
}

describe('demo routes (the seed document, all at once)', () => {
  let db: TestDatabase
  let tasks: Tasklane
  let app: Hono
  const get = (path: string) => call(app, 'GET', path)
  const post = (path: string, body?: string) => call(app, 'POST', path, body)

  beforeAll(async () => {
    db = await createTestDatabase()
    tasks = await startTasklane(db.url, Object.values(demo), {
      workers: 4,
      env: { DEMO_TIME_SCALE: '0.001' },
    })
    app = createDemoRoutes(tasks, demo)
  })
  afterAll(async () => {
    await tasks?.stop()
    await db?.drop()
  })

  it('starts tasks and reports their progress and results from the tables', async () => {
    expect(await get('/')).toEqual({ status: 200, body: { message: 'Hello with background tasks!' } })
    const started = (await post('/start-task')).body
    expect(started).toEqual({ message: 'Task started', task_id: expect.any(String), status: 'queued' })
    const done = await tasks.waitFor(started.task_id)
    expect(done.result).toEqual({ result: 'Task completed successfully' })
    expect(done.progress).toMatchObject({ percent: 100, step: 'Task progress: 10/10' })

    const processing = (await post('/process-data')).body
    expect(processing).toEqual({
      message: 'Data processing started',
      task_id: expect.any(String),
      catzilla_task_id: processing.task_id,
      progress_available: true,
    })
    await tasks.waitFor(processing.task_id)
    expect((await get(`/task-progress/${processing.task_id}`)).body).toEqual({
      task_id: processing.task_id,
      progress_percent: 100,
      current_step: DATA_PROCESSING_STEPS.at(-1),
      status: 'completed',
      started_at: expect.any(String),
      result: { processed_records: 1000, generated_file: 'report_2024.pdf', processing_time: '7 seconds' },
    })
    expect(await get('/task-progress/data_deadbeef')).toEqual({
      status: 404,
      body: { error: 'Task not found' },
    })

    const fetching = (await post('/fetch-data')).body
    expect(fetching.estimated_duration).toMatch(/second/)
    expect((await tasks.waitFor(fetching.task_id)).result).toMatchObject({ total_items: 5 })
  })

  it('schedules reminders now or later, and rejects a body that is not JSON', async () => {
    const now = (await post('/schedule-reminder')).body
    expect(now).toMatchObject({ message: 'Reminder scheduled', scheduled_for: expect.any(String) })
    expect((await tasks.waitFor(now.task_id)).result).toMatchObject({ notification: 'Reminder sent' })
    const later = (await post('/schedule-reminder', '{"delay":"1h"}')).body
    expect(Date.parse(later.scheduled_for) - Date.now()).toBeGreaterThan(59 * 60_000)
    expect((await tasks.getTask(later.task_id))?.status).toBe('scheduled')
    expect((await post('/schedule-reminder', '{oops')).status).toBe(400)
  })

  it('starts and stops a real recurring health check', async () => {
    const res = (await post('/start-monitoring')).body
    expect(res).toMatchObject({
      message: 'System monitoring started',
      interval: expect.stringContaining('* * * * *'),
    })
    const schedules = await tasks.listSchedules()
    expect(schedules).toEqual([expect.objectContaining({ key: 'check-system-health', cron: '* * * * *' })])
    const check = await tasks.waitFor(res.task_id)
    expect(check.result).toMatchObject({
      cpu_percent: expect.any(Number),
      memory_percent: expect.any(Number),
    })
    expect((await post('/stop-monitoring')).status).toBe(200)
    expect(await tasks.listSchedules()).toEqual([])
  })

  it('lists running tasks, and serves priorities, batches and error handling', async () => {
    const { taskId } = await tasks.addTask(demo.longRunningTask, { steps: 1, stepMs: 60_000_000 })
    for await (const ev of tasks.events({ taskId }))
      if (ev.type === 'status' && ev.status === 'running') break
    const active = (await get('/active-tasks')).body
    expect(active.total_count).toBe(1)
    expect(active.active_tasks[0]).toMatchObject({ id: taskId, task: 'long-running-task', status: 'running' })
    await tasks.cancel(taskId)

    const priority = (await post('/priority-task')).body
    expect(priority).toMatchObject({ message: 'High priority task scheduled', priority: 'HIGH' })
    expect((await tasks.getTask(priority.task_id))?.priority).toBe('HIGH')

    const batch = (await post('/batch-processing')).body
    expect(batch.total_items).toBe(10)
    const items = await Promise.all(batch.batch_tasks.map((id: string) => tasks.waitFor(id)))
    expect(items.map((t) => t.result)).toEqual(
      Array.from({ length: 10 }, (_, i) => ({ item_id: i, processed: true })),
    )

    // Random outcomes (retried 1 s apart): examples 07 and 08 drive each one.
    const unreliable = (await post('/unreliable-task')).body
    expect(await tasks.getTask(unreliable.task_id)).toMatchObject({ priority: 'HIGH', maxAttempts: 4 })
    const failing = (await post('/task-with-error-handling')).body
    expect(await tasks.getTask(failing.task_id)).toMatchObject({
      task: 'potentially-failing-task',
      maxAttempts: 3,
    })
  })

  it('keeps calculation results in the database, 404 until they exist', async () => {
    const later = await tasks.addTask(demo.complexCalculation, {}, { delay: '1h' })
    expect((await get(`/calculation-result/${later.taskId}`)).status).toBe(404)
    const started = (await post('/long-calculation')).body
    expect(started).toMatchObject({ message: 'Calculation started', catzilla_task_id: started.task_id })
    await tasks.waitFor(started.task_id)
    const found = (await get(`/calculation-result/${started.task_id}`)).body
    expect(found.result).toMatchObject({ calculation: 'sum_of_squares', result: '333332833333500000' })
  })

  it('runs the performance-tips tasks (the CPU-bound one in a thread)', async () => {
    const good = (await post('/good-task')).body
    expect((await tasks.waitFor(good.task_id)).result).toEqual({ processed: 11, result: 'SAMPLE DATA' })
    const io = (await post('/io-task')).body
    expect(io.type).toBe('io_bound')
    const cpu = (await post('/cpu-task')).body
    expect(cpu.type).toBe('cpu_bound')
    expect((await tasks.waitFor(cpu.task_id)).result).toEqual({ computation_result: 333283335000 })
    const batch = (await post('/batch-task')).body
    expect(batch).toMatchObject({ type: 'batch', items: 5 })
    expect((await tasks.waitFor(batch.task_id)).result).toMatchObject({ count: 5 })
    expect((await tasks.waitFor(io.task_id)).status).toBe('completed')
  })

  it('reports statistics in the seed shapes, and the shutdown status', async () => {
    const stats = (await get('/task-stats')).body.catzilla_stats
    expect(Object.keys(stats)).toEqual(['queue_metrics', 'worker_metrics', 'performance_metrics'])
    expect(stats.worker_metrics.total_workers).toBe(4)
    expect(stats.performance_metrics.tasks_per_second).toBeGreaterThan(0)
    const analytics = (await get('/task-analytics')).body
    expect(analytics.total_tasks_executed).toBeGreaterThan(10)
    expect(Object.keys(analytics)).toEqual([
      'total_tasks_executed',
      'performance_metrics',
      'queue_status',
      'worker_status',
      'memory_usage',
      'error_metrics',
      'uptime_seconds',
    ])
    const perf = (await get('/task-performance')).body
    expect(perf.performance_summary.throughput).toMatch(/^\d+\.\d\d tasks\/sec$/)
    expect(perf.detailed_metrics.execution_times).toEqual({
      average_ms: expect.any(Number),
      p95_ms: expect.any(Number),
      p99_ms: expect.any(Number),
    })
    expect((await get('/shutdown-status')).body).toEqual({
      shutdown_requested: false,
      message: 'Server is running normally',
    })
  })
})
