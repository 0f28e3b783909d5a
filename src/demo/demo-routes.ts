import { Hono } from 'hono'
import type { TaskInfo } from '../inspect/task-info.ts'
import type { Tasklane } from '../tasklane.ts'
import { TaskPriority } from '../tasks/priority.ts'
import type { DemoTasks } from './demo-tasks.ts'
import { estimateDuration } from './estimate-duration.ts'
import { catzillaStats, taskAnalytics, taskPerformance } from './stats-shapes.ts'

/** The recurring health check of POST /start-monitoring: schedules resolve to the minute. */
export const MONITORING_CRON = '* * * * *'

/**
 * Every route of the seed document, with its JSON keys, backed by tasklane: ids are tasklane task ids,
 * progress and results come from tasklane's tables, statistics from getTaskStats(), so any replica
 * answers for tasks run anywhere. See docs/seed.md.
 * @example app.route('/', createDemoRoutes(tasklane, createDemoTasks()))
 */
export function createDemoRoutes(tasklane: Tasklane, tasks: DemoTasks): Hono {
  const app = new Hono()
  const scale = tasklane.config.demoTimeScale

  app.get('/', (c) => c.json({ message: 'Hello with background tasks!' }))

  app.post('/start-task', async (c) => {
    const { taskId, status } = await tasklane.addTask(tasks.longRunningTask, {})
    return c.json({ message: 'Task started', task_id: taskId, status })
  })

  app.post('/fetch-data', async (c) => {
    const { taskId } = await tasklane.addTask(tasks.fetchFromApi, {})
    const estimated = await estimateDuration(tasklane, taskId, 5 * 500 * scale)
    return c.json({ message: 'Async task started', task_id: taskId, estimated_duration: estimated })
  })

  app.post('/schedule-reminder', async (c) => {
    const body = await optionalJson<{ delay?: string }>(c.req.raw)
    if (!body) return c.json({ error: 'Body must be JSON like {"delay": "10m"}, or empty' }, 400)
    const { delay } = body
    const { taskId } = await tasklane.addTask(
      tasks.sendReminder,
      {},
      {
        priority: TaskPriority.NORMAL,
        ...(delay ? { delay } : {}),
      },
    )
    const info = await tasklane.getTask(taskId)
    return c.json({ message: 'Reminder scheduled', task_id: taskId, scheduled_for: info?.startAfter ?? null })
  })

  app.post('/start-monitoring', async (c) => {
    await tasklane.schedule(tasks.checkSystemHealth.name, MONITORING_CRON)
    const { taskId } = await tasklane.addTask(tasks.checkSystemHealth, {})
    return c.json({
      message: 'System monitoring started',
      task_id: taskId,
      interval: `every minute (cron '${MONITORING_CRON}')`,
      note: 'Recurring: one check per minute across all replicas, kept in Postgres; POST /stop-monitoring ends it',
    })
  })

  app.post('/stop-monitoring', async (c) => {
    await tasklane.unschedule(tasks.checkSystemHealth.name)
    return c.json({ message: 'System monitoring stopped' })
  })

  app.post('/process-data', async (c) => {
    const { taskId } = await tasklane.addTask(tasks.dataProcessing, {})
    return c.json({
      message: 'Data processing started',
      task_id: taskId,
      catzilla_task_id: taskId,
      progress_available: true,
    })
  })

  app.get('/task-progress/:task_id', async (c) => {
    const info = await tasklane.getTask(c.req.param('task_id'))
    if (!info) return c.json({ error: 'Task not found' }, 404)
    return c.json(progressBody(info))
  })

  app.get('/active-tasks', async (c) => {
    const { items } = await tasklane.listTasks({ status: 'running', limit: 500 })
    const active = items.map((t) => ({
      id: t.taskId,
      task: t.task,
      status: t.status,
      progress: t.progress?.percent ?? 0,
      current_step: t.progress?.step ?? null,
      started_at: t.startedAt,
    }))
    return c.json({ active_tasks: active, total_count: active.length })
  })

  app.get('/task-stats', (c) =>
    withStats(c, tasklane, 'Failed to get Catzilla task stats', (s) => c.json(catzillaStats(s))),
  )

  app.post('/unreliable-task', async (c) => {
    const { taskId } = await tasklane.addTask(tasks.unreliableOperation, {}, { priority: TaskPriority.HIGH })
    return c.json({
      message: 'Unreliable task started',
      task_id: taskId,
      note: 'Task may succeed or fail randomly; failed attempts are retried with exponential backoff',
    })
  })

  app.post('/task-with-error-handling', async (c) => {
    const { taskId } = await tasklane.addTask(tasks.potentiallyFailingTask, {})
    return c.json({
      message: 'Task with error handling started',
      task_id: taskId,
      note: 'Task may succeed or fail with different error types',
    })
  })

  app.post('/priority-task', async (c) => {
    const { taskId } = await tasklane.addTask(tasks.highPriorityTask, {}, { priority: TaskPriority.HIGH })
    return c.json({ message: 'High priority task scheduled', task_id: taskId, priority: 'HIGH' })
  })

  app.post('/batch-processing', async (c) => {
    const items = Array.from({ length: 10 }, (_, i) => ({ item_id: i }))
    const results = await tasklane.addTasks(tasks.processBatchItem, items, { priority: TaskPriority.NORMAL })
    const batchTasks = results.map((r) => r.taskId)
    return c.json({
      message: 'Batch processing started',
      batch_tasks: batchTasks,
      total_items: batchTasks.length,
    })
  })

  app.get('/shutdown-status', (c) => {
    const requested = !tasklane.started
    return c.json({
      shutdown_requested: requested,
      message: requested ? 'Shutdown in progress' : 'Server is running normally',
    })
  })

  app.post('/long-calculation', async (c) => {
    const { taskId } = await tasklane.addTask(tasks.complexCalculation, {})
    return c.json({
      message: 'Calculation started',
      task_id: taskId,
      catzilla_task_id: taskId,
      note: 'Result will be stored for retrieval',
    })
  })

  app.get('/calculation-result/:task_id', async (c) => {
    const info = await tasklane.getTask(c.req.param('task_id'))
    if (info?.status !== 'completed') return c.json({ error: 'Result not found or not yet available' }, 404)
    return c.json({ task_id: info.taskId, result: info.result, retrieved_at: new Date().toISOString() })
  })

  app.get('/task-analytics', (c) =>
    withStats(c, tasklane, 'Failed to get analytics', (s) => c.json(taskAnalytics(s))),
  )

  app.get('/task-performance', (c) =>
    withStats(c, tasklane, 'Failed to get performance metrics', (s) => c.json(taskPerformance(s))),
  )

  app.post('/good-task', async (c) => {
    const { taskId } = await tasklane.addTask(tasks.goodTask, 'sample data')
    return c.json({ task_id: taskId })
  })

  app.post('/io-task', async (c) => {
    const { taskId } = await tasklane.addTask(tasks.ioBoundTask, {}, { priority: TaskPriority.NORMAL })
    return c.json({ task_id: taskId, type: 'io_bound' })
  })

  app.post('/cpu-task', async (c) => {
    const { taskId } = await tasklane.addTask(tasks.cpuBoundTask, 'sample_data', {
      priority: TaskPriority.HIGH,
    })
    return c.json({ task_id: taskId, type: 'cpu_bound' })
  })

  app.post('/batch-task', async (c) => {
    const items = ['item1', 'item2', 'item3', 'item4', 'item5']
    const { taskId } = await tasklane.addTask(tasks.batchTask, items, { priority: TaskPriority.NORMAL })
    return c.json({ task_id: taskId, type: 'batch', items: items.length })
  })

  return app
}

/** GET /task-progress/:task_id, the seed's keys; status is tasklane's (queued, running, completed…). */
export function progressBody(info: TaskInfo) {
  return {
    task_id: info.taskId,
    progress_percent: info.progress?.percent ?? (info.status === 'completed' ? 100 : 0),
    current_step: info.progress?.step ?? 'Unknown',
    status: info.status,
    started_at: info.startedAt,
    result: info.result ?? null,
  }
}

type StatsOf = Awaited<ReturnType<Tasklane['getTaskStats']>>

async function withStats(
  c: { json: (body: unknown, status?: 500) => Response },
  tasklane: Tasklane,
  failure: string,
  respond: (stats: StatsOf) => Response,
): Promise<Response> {
  let stats: StatsOf
  try {
    stats = await tasklane.getTaskStats()
  } catch (err) {
    return c.json({ error: failure, details: (err as Error).message }, 500)
  }
  return respond(stats)
}

/** The JSON object body, {} when empty (the seed's routes take none), null when it is not JSON. */
async function optionalJson<T extends object>(req: Request): Promise<Partial<T> | null> {
  const text = await req.text()
  if (text.trim() === '') return {}
  try {
    const parsed = JSON.parse(text) as unknown
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Partial<T>)
      : null
  } catch {
    return null
  }
}
