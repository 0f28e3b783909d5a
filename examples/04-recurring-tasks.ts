/**
 * Seed example "Recurring Tasks". The seed runs one check and suggests external schedulers; here
 * POST /start-monitoring schedules a real recurring check with tasks.schedule(): a cron expression
 * stored in Postgres, fired once per slot however many replicas run, surviving restarts.
 * tasklane's schedules resolve to the minute (a 6-field expression names one second of the minute;
 * several seconds are refused), so the default is every minute. The body may name another {"cron", "tz"}.
 *
 *   npx tsx examples/04-recurring-tasks.ts
 *   curl -X POST http://localhost:8000/start-monitoring
 *   curl -X POST http://localhost:8000/start-monitoring -H 'content-type: application/json' -d '{"cron":"0 9 * * 1-5","tz":"Europe/Paris"}'
 *   curl -X POST http://localhost:8000/stop-monitoring
 */
import { availableParallelism, freemem, loadavg, totalmem } from 'node:os'
import { Hono } from 'hono'
import { createTasklane, defineTask, loadConfig, type Tasklane } from 'tasklane'
import { isMain, jsonErrors, serveExample } from './support/serve-example.ts'

const EVERY_MINUTE = '* * * * *'
const round1 = (n: number) => Math.round(n * 10) / 10

export function createTasks() {
  // The seed simulates these two figures; this reads the host's.
  const checkSystemHealth = defineTask({
    name: 'check-system-health',
    run(_args: unknown, ctx) {
      const cpuPercent = round1(Math.min(100, (loadavg()[0]! / availableParallelism()) * 100))
      const memoryPercent = round1((1 - freemem() / totalmem()) * 100)
      ctx.log.info(`🖥️  System Health - CPU: ${cpuPercent}%, Memory: ${memoryPercent}%`)
      return { cpu_percent: cpuPercent, memory_percent: memoryPercent, timestamp: new Date().toISOString() }
    },
  })
  return { checkSystemHealth }
}

export function createExampleApp(tasklane: Tasklane, tasks: ReturnType<typeof createTasks>): Hono {
  const app = new Hono()
  app.onError(jsonErrors)

  app.post('/start-monitoring', async (c) => {
    const body = (await c.req.text()).trim()
    const { cron = EVERY_MINUTE, tz = 'UTC' } = body
      ? (JSON.parse(body) as { cron?: string; tz?: string })
      : {}
    await tasklane.schedule(tasks.checkSystemHealth.name, cron, {}, { tz })
    // One check now, as the seed does; the schedule takes over from the next slot.
    const { taskId } = await tasklane.addTask(tasks.checkSystemHealth, {})
    return c.json({
      message: 'System monitoring started',
      task_id: taskId,
      interval: `cron '${cron}' (${tz})`,
      note: 'Recurring: one run per slot across all replicas, kept in Postgres; POST /stop-monitoring ends it',
    })
  })

  app.post('/stop-monitoring', async (c) => {
    await tasklane.unschedule(tasks.checkSystemHealth.name)
    return c.json({ message: 'System monitoring stopped' })
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
      '🚀 Starting recurring tasks example...',
      'Try: curl -X POST http://localhost:8000/start-monitoring',
    ],
  })
}
