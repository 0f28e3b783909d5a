/**
 * Seed example "Custom Error Handlers": a task failing in different ways. The kind of error decides
 * what happens next: a connection error is worth retrying (the retry policy runs the task again),
 * invalid data is not, so the task throws NonRetryableError and fails at once. Each attempt's error
 * type and message are kept in the task's history.
 *
 *   npx tsx examples/08-custom-error-handlers.ts
 *   curl -X POST http://localhost:8000/task-with-error-handling
 */
import { Hono } from 'hono'
import { createTasklane, defineTask, loadConfig, NonRetryableError, type Tasklane } from 'tasklane'
import { isMain, serveExample } from './support/serve-example.ts'

export class ConnectionError extends Error {
  override name = 'ConnectionError'
}

type Outcome = 'connection' | 'validation' | 'success'

export function createTasks() {
  const potentiallyFailingTask = defineTask({
    name: 'potentially-failing-task',
    retry: { limit: 2, delay: '1s' },
    run({ outcome }: { outcome?: Outcome }) {
      const errorType =
        outcome ?? (['connection', 'validation', 'success'] as const)[Math.floor(Math.random() * 3)]
      if (errorType === 'connection') throw new ConnectionError('Failed to connect to external service')
      if (errorType === 'validation') throw new NonRetryableError('Invalid data format')
      return { status: 'success', message: 'Task completed successfully' }
    },
  })
  return { potentiallyFailingTask }
}

export function createExampleApp(tasklane: Tasklane, tasks: ReturnType<typeof createTasks>): Hono {
  const app = new Hono()

  app.post('/task-with-error-handling', async (c) => {
    const { taskId } = await tasklane.addTask(tasks.potentiallyFailingTask, {})
    return c.json({
      message: 'Task with error handling started',
      task_id: taskId,
      note: 'Task may succeed or fail with different error types',
    })
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
      '🚀 Starting custom error handling example...',
      'Try: curl -X POST http://localhost:8000/task-with-error-handling',
    ],
  })
}
