/**
 * Seed example "Performance Tips":
 * - I/O-bound work: an async task; it awaits, and one process runs many at once (TASKLANE_WORKERS).
 * - CPU-bound work: mode 'thread' runs the task in the worker-thread pool (TASKLANE_THREADS), so it
 *   never blocks the event loop that serves HTTP; memoryLimitMb caps its heap.
 * - Batches: one task for many items; and addTasks() enqueues many tasks in one round trip.
 *
 *   npx tsx examples/14-performance-tips.ts
 *   curl -X POST http://localhost:8000/io-task
 *   curl -X POST http://localhost:8000/cpu-task
 *   curl -X POST http://localhost:8000/batch-task
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { Hono } from 'hono'
import { createTasklane, defineTask, loadConfig, type Tasklane, TaskPriority } from 'tasklane'
import { isMain, serveExample } from './support/serve-example.ts'

// ✅ Use a thread for CPU-bound tasks. The thread imports this file and finds the task by name, so
// it is defined at module level.
export const cpuBoundTask = defineTask({
  name: 'cpu-bound-task',
  mode: 'thread',
  module: import.meta.url,
  memoryLimitMb: 64,
  run(_data: string) {
    let result = 0
    for (let i = 0; i < 10_000; i++) result += i ** 2 // Simulate CPU-intensive computation
    return { computation_result: result }
  },
})

export function createTasks({ timeScale = 1 } = {}) {
  // ✅ Use async for I/O-bound tasks
  const ioBoundTask = defineTask({
    name: 'io-bound-task',
    async run(_args: unknown, ctx) {
      await sleep(1_000 * timeScale, undefined, { signal: ctx.signal }) // Simulate async I/O operation
      return { result: 'I/O operation completed' }
    },
  })

  // ✅ Batch related operations
  const batchTask = defineTask({
    name: 'batch-task',
    run(items: string[]) {
      const results = items.map((item) => `processed_${item}`)
      return { batch_results: results, count: results.length }
    },
  })

  return { ioBoundTask, cpuBoundTask, batchTask }
}

export function createExampleApp(tasklane: Tasklane, tasks: ReturnType<typeof createTasks>): Hono {
  const app = new Hono()

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

if (isMain(import.meta.url)) {
  const config = loadConfig()
  const tasks = createTasks({ timeScale: config.demoTimeScale })
  const tasklane = createTasklane({ config, tasks: Object.values(tasks), workers: 4 })
  await tasklane.start()
  serveExample(createExampleApp(tasklane, tasks), tasklane, {
    banner: [
      '🚀 Starting performance tips example...',
      'Try: curl -X POST http://localhost:8000/io-task',
      'Try: curl -X POST http://localhost:8000/cpu-task',
      'Try: curl -X POST http://localhost:8000/batch-task',
    ],
  })
}
