/**
 * Seed example "Persistent Results". The seed stores results in a dict ("in production, use Redis or
 * database"); tasklane stores every result in Postgres in the same transaction that completes the
 * task, so GET /calculation-result/:task_id answers from any replica, after restarts, for as long as
 * history is retained (TASKLANE_RETENTION_COMPLETED, 30 days by default). The calculation is
 * CPU-bound, so it runs in the worker-thread pool and never blocks the HTTP event loop.
 *
 *   npx tsx examples/11-persistent-results.ts
 *   curl -X POST http://localhost:8000/long-calculation
 *   curl http://localhost:8000/calculation-result/{task_id}
 */
import { Hono } from 'hono'
import { createTasklane, defineTask, loadConfig, type Tasklane } from 'tasklane'
import { isMain, serveExample } from './support/serve-example.ts'

/**
 * A thread imports this file and finds the task by name, so the task is defined at module level.
 * BigInt: the sum (3.3e17) is past 2^53, so the exact value is returned as a string.
 */
export const complexCalculation = defineTask({
  name: 'complex-calculation',
  mode: 'thread',
  module: import.meta.url,
  run(_args: unknown) {
    let result = 0n
    for (let i = 0n; i < 1_000_000n; i++) result += i ** 2n
    return {
      calculation: 'sum_of_squares',
      range: '1 to 1,000,000',
      result: result.toString(),
      computed_at: new Date().toISOString(),
    }
  },
})

export function createTasks() {
  return { complexCalculation }
}

export function createExampleApp(tasklane: Tasklane, tasks: ReturnType<typeof createTasks>): Hono {
  const app = new Hono()

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

  return app
}

if (isMain(import.meta.url)) {
  const config = loadConfig()
  const tasks = createTasks()
  const tasklane = createTasklane({ config, tasks: Object.values(tasks), workers: 4 })
  await tasklane.start()
  serveExample(createExampleApp(tasklane, tasks), tasklane, {
    banner: [
      '🚀 Starting task result storage example...',
      'Try: curl -X POST http://localhost:8000/long-calculation',
      'Try: curl http://localhost:8000/calculation-result/{task_id}',
    ],
  })
}
