/**
 * Seed example "Task Design Guidelines", in tasklane's terms:
 * - Stateless tasks: args in, JSON result out (good-task). A task may run in any process, so shared
 *   module state (the seed's bad_task and its global counter) is not just racy, it is per process.
 * - Idempotent tasks: delivery is at least once, so a task may run twice; and an enqueue can carry an
 *   idempotencyKey, so a retried request does not create a second task (POST /welcome-email/:user_id).
 * - Errors: throw to retry (a connection error); throw NonRetryableError when retrying cannot help
 *   (invalid input), instead of the seed's returning {"retry": false}.
 *
 *   npx tsx examples/13-best-practices.ts
 *   curl -X POST http://localhost:8000/good-task
 *   curl -X POST http://localhost:8000/welcome-email/u1   (twice: same task_id, "deduplicated": true)
 */
import { Hono } from 'hono'
import { createTasklane, defineTask, loadConfig, NonRetryableError, type Tasklane } from 'tasklane'
import { isMain, serveExample } from './support/serve-example.ts'

export class ConnectionError extends Error {
  override name = 'ConnectionError'
}

/** Stand-ins for an application's own services (the seed's placeholders). */
export interface Services {
  emailAlreadySent(userId: string): Promise<boolean>
  sendEmail(email: string): Promise<void>
  fetchUrl(url: string): Promise<{ json(): Promise<unknown> }>
}

const placeholders: Services = {
  emailAlreadySent: async () => false,
  sendEmail: async () => {},
  fetchUrl: async () => ({ json: async () => ({}) }),
}

export function createTasks(services: Services = placeholders) {
  // ✅ Good: stateless
  const goodTask = defineTask({
    name: 'good-task',
    run(data: string) {
      return { processed: data.length, result: data.toUpperCase() }
    },
  })

  // ✅ Good: idempotent, so running it twice (a worker lost mid-task) sends one email
  const idempotentTask = defineTask({
    name: 'idempotent-task',
    async run({ user_id, email }: { user_id: string; email: string }) {
      if (!(await services.emailAlreadySent(user_id))) await services.sendEmail(email)
      return { email_sent: true }
    },
  })

  // ✅ Good: proper error handling
  const robustTask = defineTask({
    name: 'robust-task',
    retry: { limit: 3, delay: '1s', backoff: 'exponential' },
    async run({ url }: { url: string }) {
      if (!URL.canParse(url)) throw new NonRetryableError(`not a URL: ${url}`) // Don't retry validation errors
      const response = await services.fetchUrl(url) // a ConnectionError thrown here is retried
      return { data: await response.json() }
    },
  })

  return { goodTask, idempotentTask, robustTask }
}

export function createExampleApp(tasklane: Tasklane, tasks: ReturnType<typeof createTasks>): Hono {
  const app = new Hono()

  app.post('/good-task', async (c) => {
    const { taskId } = await tasklane.addTask(tasks.goodTask, 'sample data')
    return c.json({ task_id: taskId })
  })

  app.post('/welcome-email/:user_id', async (c) => {
    const userId = c.req.param('user_id')
    const { taskId, deduplicated } = await tasklane.addTask(
      tasks.idempotentTask,
      { user_id: userId, email: `${userId}@example.com` },
      { idempotencyKey: `welcome-email:${userId}` },
    )
    return c.json({ task_id: taskId, deduplicated })
  })

  return app
}

if (isMain(import.meta.url)) {
  const config = loadConfig()
  const tasks = createTasks()
  const tasklane = createTasklane({ config, tasks: Object.values(tasks), workers: 4 })
  await tasklane.start()
  serveExample(createExampleApp(tasklane, tasks), tasklane, {
    banner: ['🚀 Starting best practices example...', 'Try: curl -X POST http://localhost:8000/good-task'],
  })
}
