/**
 * Seed example "Async Background Tasks": an async task making five (simulated) API calls. Its
 * "estimated_duration" is estimated from the task's recent completed runs (and its queue position),
 * where the seed hard-codes "2-3 seconds".
 *
 *   npx tsx examples/02-async-tasks.ts
 *   curl -X POST http://localhost:8000/fetch-data
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { Hono } from 'hono'
import { createTasklane, defineTask, loadConfig, type Tasklane } from 'tasklane'
import { isMain, serveExample } from './support/serve-example.ts'

const CALLS = 5
const CALL_MS = 500

export function createTasks({ timeScale = 1 } = {}) {
  const fetchFromApi = defineTask({
    name: 'fetch-from-api',
    // A flaky API is worth retrying: 1 s, 2 s, 4 s apart.
    retry: { limit: 3, delay: '1s', backoff: 'exponential' },
    async run(_args: unknown, ctx) {
      const results: string[] = []
      for (let i = 0; i < CALLS; i++) {
        await sleep(CALL_MS * timeScale, undefined, { signal: ctx.signal }) // Simulate API delay
        results.push(`Data chunk ${i + 1}`)
        await ctx.progress(((i + 1) * 100) / CALLS, `Fetched chunk ${i + 1}/${CALLS}`)
      }
      return { data: results, total_items: results.length }
    },
  })
  return { fetchFromApi }
}

/** '2-3 seconds' from the last 20 completed runs, plus the wait the task's eta implies. */
export async function estimateDuration(
  tasklane: Tasklane,
  taskId: string,
  nominalMs: number,
): Promise<string> {
  const info = await tasklane.getTask(taskId)
  const wait = info?.eta ? Math.max(0, Date.parse(info.eta) - Date.now()) : 0
  const { items } = await tasklane.listTasks({ task: info?.task ?? '', status: 'completed', limit: 20 })
  const runs = items.flatMap((t) => (t.durationMs === null ? [] : [t.durationMs]))
  const lo = wait + (runs.length > 0 ? Math.min(...runs) : nominalMs)
  const hi = wait + (runs.length > 0 ? Math.max(...runs) : nominalMs)
  const [a, b] = [Math.max(1, Math.floor(lo / 1000)), Math.ceil(hi / 1000)]
  if (b <= 1) return 'under 1 second'
  return a === b ? `${b} seconds` : `${a}-${b} seconds`
}

export function createExampleApp(tasklane: Tasklane, tasks: ReturnType<typeof createTasks>): Hono {
  const app = new Hono()
  const nominalMs = CALLS * CALL_MS * tasklane.config.demoTimeScale

  app.post('/fetch-data', async (c) => {
    const { taskId } = await tasklane.addTask(tasks.fetchFromApi, {})
    return c.json({
      message: 'Async task started',
      task_id: taskId,
      estimated_duration: await estimateDuration(tasklane, taskId, nominalMs),
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
      '🚀 Starting async background tasks example...',
      'Try: curl -X POST http://localhost:8000/fetch-data',
    ],
  })
}
