/**
 * Seed example "Real-Time Task Updates": GET /active-tasks and GET /task-stats. Both read Postgres,
 * so they cover every worker process, not just this one. Beyond the seed, GET /task-events/:task_id
 * streams a task's progress and status as Server-Sent Events until it finishes (LISTEN/NOTIFY, so
 * the events come from whichever process runs it). POST /start-task gives them something to show.
 *
 *   npx tsx examples/06-real-time-updates.ts
 *   curl -X POST http://localhost:8000/start-task
 *   curl http://localhost:8000/active-tasks
 *   curl http://localhost:8000/task-stats
 *   curl -N http://localhost:8000/task-events/{task_id}
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { Hono } from 'hono'
import { streamSSE } from 'hono/streaming'
import { createTasklane, defineTask, loadConfig, type Tasklane } from 'tasklane'
import { isMain, serveExample } from './support/serve-example.ts'

export function createTasks({ timeScale = 1 } = {}) {
  const longRunningTask = defineTask({
    name: 'long-running-task',
    async run({ steps = 10, stepMs = 1_000 }: { steps?: number; stepMs?: number }, ctx) {
      for (let i = 0; i < steps; i++) {
        await sleep(stepMs * timeScale, undefined, { signal: ctx.signal })
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

  app.get('/active-tasks', async (c) => {
    const { items } = await tasklane.listTasks({ status: 'running', limit: 500 })
    const activeTasks = items.map((t) => ({
      id: t.taskId,
      task: t.task,
      status: t.status,
      progress: t.progress?.percent ?? 0,
      current_step: t.progress?.step ?? null,
      started_at: t.startedAt,
    }))
    return c.json({ active_tasks: activeTasks, total_count: activeTasks.length })
  })

  app.get('/task-stats', async (c) => {
    try {
      // Cluster-wide: queue sizes from pg-boss, workers from their heartbeats, rates from history.
      const stats = await tasklane.getTaskStats()
      return c.json({
        catzilla_stats: {
          queue_metrics: {
            critical_queue_size: stats.criticalQueueSize,
            high_queue_size: stats.highQueueSize,
            normal_queue_size: stats.normalQueueSize,
            low_queue_size: stats.lowQueueSize,
            total_queued: stats.totalQueued,
          },
          worker_metrics: {
            active_workers: stats.activeWorkers,
            idle_workers: stats.idleWorkers,
            total_workers: stats.totalWorkers,
          },
          performance_metrics: {
            tasks_per_second: stats.tasksPerSecond,
            avg_execution_time_ms: stats.avgExecutionTimeMs,
            memory_usage_mb: stats.memoryUsageMb,
          },
        },
      })
    } catch (err) {
      return c.json({ error: 'Failed to get Catzilla task stats', details: (err as Error).message }, 500)
    }
  })

  app.get('/task-events/:task_id', async (c) => {
    const taskId = c.req.param('task_id')
    if (!(await tasklane.getTask(taskId))) return c.json({ error: 'Task not found' }, 404)
    return streamSSE(c, async (stream) => {
      // Ends after the task's final status (at once, with that status, if it has already finished).
      for await (const event of tasklane.events({ taskId })) {
        await stream.writeSSE({ event: event.type, data: JSON.stringify(event) })
      }
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
      '🚀 Starting real-time task updates example...',
      'Try: curl http://localhost:8000/active-tasks',
      'Try: curl http://localhost:8000/task-stats',
    ],
  })
}
