/**
 * Seed example "Basic Background Task": POST /start-task runs a ten-step task in the background.
 * Unlike the seed's in-memory task, this one is a row in Postgres: it survives a restart, any worker
 * process may run it, and its progress and result can be read from anywhere.
 *
 *   npx tsx examples/01-basic-task.ts
 *   curl -X POST http://localhost:8000/start-task
 *   curl http://localhost:8000/
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { Hono } from 'hono'
import { createTasklane, defineTask, loadConfig, type Tasklane } from 'tasklane'
import { isMain, serveExample } from './support/serve-example.ts'

/** `timeScale` multiplies every sleep (DEMO_TIME_SCALE), so tests run the real flow fast. */
export function createTasks({ timeScale = 1 } = {}) {
  const longRunningTask = defineTask({
    name: 'long-running-task',
    async run({ steps = 10, stepMs = 1_000 }: { steps?: number; stepMs?: number }, ctx) {
      for (let i = 0; i < steps; i++) {
        await sleep(stepMs * timeScale, undefined, { signal: ctx.signal }) // Simulate work
        await ctx.progress(((i + 1) * 100) / steps, `Task progress: ${i + 1}/${steps}`)
      }
      return { result: 'Task completed successfully' }
    },
  })
  return { longRunningTask }
}

export function createExampleApp(tasklane: Tasklane, tasks: ReturnType<typeof createTasks>): Hono {
  const app = new Hono()

  app.post('/start-task', async (c) => {
    const { taskId, status } = await tasklane.addTask(tasks.longRunningTask, {})
    return c.json({ message: 'Task started', task_id: taskId, status })
  })

  app.get('/', (c) => c.json({ message: 'Hello with background tasks!' }))

  return app
}

if (isMain(import.meta.url)) {
  const config = loadConfig()
  const tasks = createTasks({ timeScale: config.demoTimeScale })
  const tasklane = createTasklane({ config, tasks: Object.values(tasks), workers: 4 })
  await tasklane.start()
  serveExample(createExampleApp(tasklane, tasks), tasklane, {
    banner: [
      '🚀 Starting tasklane background tasks example...',
      'Try: curl -X POST http://localhost:8000/start-task',
    ],
  })
}
