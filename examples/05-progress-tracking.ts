/**
 * Seed example "Progress Tracking". The seed keeps progress in a dict of its process; here the task
 * reports ctx.progress(percent, step), tasklane stores it (throttled) in Postgres, and GET
 * /task-progress/:task_id reads it back from any replica, also after the task has finished.
 * task_id is tasklane's task id (the seed made up its own "data_xxxxxxxx" and kept both).
 *
 *   npx tsx examples/05-progress-tracking.ts
 *   curl -X POST http://localhost:8000/process-data
 *   curl http://localhost:8000/task-progress/{task_id}
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { Hono } from 'hono'
import { createTasklane, defineTask, loadConfig, type Tasklane } from 'tasklane'
import { isMain, serveExample } from './support/serve-example.ts'

export const STEPS = [
  'Loading data...',
  'Validating records...',
  'Processing batch 1/3...',
  'Processing batch 2/3...',
  'Processing batch 3/3...',
  'Generating report...',
  'Saving results...',
]

export function createTasks({ timeScale = 1 } = {}) {
  const dataProcessing = defineTask({
    name: 'data-processing',
    async run(_args: unknown, ctx) {
      for (const [i, step] of STEPS.entries()) {
        await ctx.progress(Math.floor(((i + 1) * 100) / STEPS.length), step)
        await sleep(1_000 * timeScale, undefined, { signal: ctx.signal }) // Simulate processing time
      }
      return {
        processed_records: 1000,
        generated_file: 'report_2024.pdf',
        processing_time: `${STEPS.length} seconds`,
      }
    },
  })
  return { dataProcessing }
}

export function createExampleApp(tasklane: Tasklane, tasks: ReturnType<typeof createTasks>): Hono {
  const app = new Hono()

  app.post('/process-data', async (c) => {
    const { taskId } = await tasklane.addTask(tasks.dataProcessing, {})
    return c.json({
      message: 'Data processing started',
      task_id: taskId,
      catzilla_task_id: taskId,
      progress_available: true,
    })
  })

  app.get('/task-progress/:task_id', async (c) => {
    const info = await tasklane.getTask(c.req.param('task_id'))
    if (!info) return c.json({ error: 'Task not found' }, 404)
    return c.json({
      task_id: info.taskId,
      progress_percent: info.progress?.percent ?? 0,
      current_step: info.progress?.step ?? 'Unknown',
      status: info.status, // queued, running, retrying, completed, failed, cancelled
      started_at: info.startedAt,
      result: info.result ?? null,
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
      '🚀 Starting task progress tracking example...',
      'Try: curl -X POST http://localhost:8000/process-data',
      'Try: curl http://localhost:8000/task-progress/{task_id}',
    ],
  })
}
