/**
 * Seed example "Task Error Recovery": a task that fails 30% of the time. Here a failed attempt is
 * not the end: the retry policy runs it again (1 s, 2 s, 4 s apart), each failure is recorded with
 * its error, and only when the retries are spent is the task `failed`. Failures are a plain throw.
 *
 *   npx tsx examples/07-error-recovery.ts
 *   curl -X POST http://localhost:8000/unreliable-task
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { Hono } from 'hono'
import { createTasklane, defineTask, loadConfig, type Tasklane, TaskPriority } from 'tasklane'
import { isMain, serveExample } from './support/serve-example.ts'

export class NetworkError extends Error {
  override name = 'NetworkError'
}

export function createTasks({ timeScale = 1 } = {}) {
  const unreliableOperation = defineTask({
    name: 'unreliable-operation',
    retry: { limit: 3, delay: '1s', backoff: 'exponential', maxDelay: '30s' },
    timeout: '30s',
    async run({ failureRate = 0.3 }: { failureRate?: number }, ctx) {
      if (Math.random() < failureRate) throw new NetworkError('Simulated network error')
      await sleep(2_000 * timeScale, undefined, { signal: ctx.signal }) // Simulate successful operation
      return { status: 'success', data: 'Operation completed' }
    },
  })
  return { unreliableOperation }
}

export function createExampleApp(tasklane: Tasklane, tasks: ReturnType<typeof createTasks>): Hono {
  const app = new Hono()

  app.post('/unreliable-task', async (c) => {
    // Schedule with higher priority for important tasks
    const { taskId } = await tasklane.addTask(tasks.unreliableOperation, {}, { priority: TaskPriority.HIGH })
    return c.json({
      message: 'Unreliable task started',
      task_id: taskId,
      note: 'Task may succeed or fail randomly; a failed attempt is retried up to 3 times',
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
      '🚀 Starting error handling example...',
      'Try: curl -X POST http://localhost:8000/unreliable-task',
    ],
  })
}
