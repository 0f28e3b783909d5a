/**
 * Seed example "Delayed Execution": schedule a reminder. The seed runs it at once; here the optional
 * body sets a real delay ({"delay": "10m"}) or instant ({"at": "2026-12-01T09:00:00Z"}). A scheduled
 * task is a row in Postgres, so it still runs if the server restarts in between.
 *
 *   npx tsx examples/03-delayed-execution.ts
 *   curl -X POST http://localhost:8000/schedule-reminder
 *   curl -X POST http://localhost:8000/schedule-reminder -H 'content-type: application/json' -d '{"delay":"10m"}'
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { Hono } from 'hono'
import { createTasklane, defineTask, loadConfig, type Tasklane, TaskPriority } from 'tasklane'
import { isMain, jsonErrors, serveExample } from './support/serve-example.ts'

export function createTasks({ timeScale = 1 } = {}) {
  const sendReminder = defineTask({
    name: 'send-reminder',
    async run(_args: unknown, ctx) {
      ctx.log.info('📧 Sending reminder email...')
      await sleep(2_000 * timeScale, undefined, { signal: ctx.signal }) // Simulate email sending
      return { notification: 'Reminder sent', timestamp: new Date().toISOString() }
    },
  })
  return { sendReminder }
}

export function createExampleApp(tasklane: Tasklane, tasks: ReturnType<typeof createTasks>): Hono {
  const app = new Hono()
  app.onError(jsonErrors)

  app.post('/schedule-reminder', async (c) => {
    const text = await c.req.text()
    let when: { delay?: string; at?: string }
    try {
      when = text.trim() === '' ? {} : JSON.parse(text)
    } catch {
      return c.json(
        { error: 'Body must be empty or JSON like {"delay": "10m"} or {"at": "<ISO instant>"}' },
        400,
      )
    }
    const { taskId } = await tasklane.addTask(
      tasks.sendReminder,
      {},
      {
        priority: TaskPriority.NORMAL,
        ...(when.delay ? { delay: when.delay } : {}),
        ...(when.at ? { startAfter: when.at } : {}),
      },
    )
    const info = await tasklane.getTask(taskId)
    return c.json({ message: 'Reminder scheduled', task_id: taskId, scheduled_for: info?.startAfter })
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
      '🚀 Starting task scheduling example...',
      'Try: curl -X POST http://localhost:8000/schedule-reminder',
    ],
  })
}
