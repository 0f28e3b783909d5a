/**
 * Seed example "Task Queues and Priorities". A HIGH task is leased before any NORMAL one that is
 * ready, by every worker process. The seed enqueues its batch with ten add_task calls (and a lambda
 * per item, which could not be persisted); here it is one addTasks call: one round trip, all or none.
 *
 *   npx tsx examples/09-priorities.ts
 *   curl -X POST http://localhost:8000/priority-task
 *   curl -X POST http://localhost:8000/batch-processing
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { Hono } from 'hono'
import { createTasklane, defineTask, loadConfig, type Tasklane, TaskPriority } from 'tasklane'
import { isMain, serveExample } from './support/serve-example.ts'

export function createTasks({ timeScale = 1 } = {}) {
  const highPriorityTask = defineTask({
    name: 'high-priority-task',
    priority: TaskPriority.HIGH,
    async run(_args: unknown, ctx) {
      ctx.log.info('🔧 Performing critical system maintenance...')
      await sleep(5_000 * timeScale, undefined, { signal: ctx.signal })
      return { maintenance: 'completed', systems: 'healthy' }
    },
  })

  const processBatchItem = defineTask({
    name: 'process-batch-item',
    async run({ item_id }: { item_id: number }, ctx) {
      await sleep(1_000 * timeScale, undefined, { signal: ctx.signal }) // Simulate processing
      return { item_id, processed: true }
    },
  })

  return { highPriorityTask, processBatchItem }
}

export function createExampleApp(tasklane: Tasklane, tasks: ReturnType<typeof createTasks>): Hono {
  const app = new Hono()

  app.post('/priority-task', async (c) => {
    const { taskId } = await tasklane.addTask(tasks.highPriorityTask, {}, { priority: TaskPriority.HIGH })
    return c.json({ message: 'High priority task scheduled', task_id: taskId, priority: 'HIGH' })
  })

  app.post('/batch-processing', async (c) => {
    const items = Array.from({ length: 10 }, (_, i) => ({ item_id: i }))
    const batch = await tasklane.addTasks(tasks.processBatchItem, items, { priority: TaskPriority.NORMAL })
    const batchTasks = batch.map((t) => t.taskId)
    return c.json({
      message: 'Batch processing started',
      batch_tasks: batchTasks,
      total_items: batchTasks.length,
    })
  })

  return app
}

if (isMain(import.meta.url)) {
  const config = loadConfig()
  const tasks = createTasks({ timeScale: config.demoTimeScale })
  const tasklane = createTasklane({ config, tasks: Object.values(tasks), workers: 4 })
  await tasklane.start()
  serveExample(createExampleApp(tasklane, tasks), tasklane, {
    banner: [
      '🚀 Starting task priorities example...',
      'Try: curl -X POST http://localhost:8000/priority-task',
      'Try: curl -X POST http://localhost:8000/batch-processing',
    ],
  })
}
