/**
 * Seed example "Task Analytics": GET /task-analytics and GET /task-performance in the seed's shapes.
 * Every figure is computed in SQL from the task history of the whole cluster over a sliding window
 * (TASKLANE_STATS_WINDOW, 5 minutes), and worker figures sum every live worker process. Beyond the
 * seed, GET /task-analytics/by-task breaks it down per task and time bucket (?window=24h&bucket=1h),
 * and POST /sample-load enqueues some work to look at.
 *
 *   npx tsx examples/12-task-analytics.ts
 *   curl -X POST http://localhost:8000/sample-load
 *   curl http://localhost:8000/task-analytics
 *   curl http://localhost:8000/task-performance
 *   curl 'http://localhost:8000/task-analytics/by-task?window=1h&bucket=5m'
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { Hono } from 'hono'
import { createTasklane, defineTask, loadConfig, type Tasklane } from 'tasklane'
import { isMain, jsonErrors, serveExample } from './support/serve-example.ts'

export function createTasks({ timeScale = 1 } = {}) {
  const sampleWork = defineTask({
    name: 'sample-work',
    retry: { limit: 1, delay: '1s' },
    async run({ ms, fail }: { ms: number; fail?: boolean }, ctx) {
      await sleep(ms * timeScale, undefined, { signal: ctx.signal })
      if (fail) throw new Error('sample failure')
      return { slept: ms }
    },
  })
  return { sampleWork }
}

export function createExampleApp(tasklane: Tasklane, tasks: ReturnType<typeof createTasks>): Hono {
  const app = new Hono()
  app.onError(jsonErrors)

  app.get('/task-analytics', async (c) => {
    try {
      const stats = await tasklane.getTaskStats()
      return c.json({
        total_tasks_executed: stats.totalTasksProcessed,
        performance_metrics: {
          tasks_per_second: stats.tasksPerSecond,
          average_execution_time_ms: stats.avgExecutionTimeMs,
          p95_execution_time_ms: stats.p95ExecutionTimeMs,
        },
        queue_status: { total_queued: stats.totalQueued, queue_pressure: stats.queuePressure },
        worker_status: {
          active_workers: stats.activeWorkers,
          total_workers: stats.totalWorkers,
          worker_utilization: stats.avgWorkerUtilization,
        },
        memory_usage: { current_mb: stats.memoryUsageMb, efficiency: stats.memoryEfficiency },
        error_metrics: { failed_tasks: stats.failedTasks, error_rate: stats.errorRate },
        uptime_seconds: stats.uptimeSeconds,
      })
    } catch (err) {
      return c.json({ error: 'Failed to get analytics', details: (err as Error).message }, 500)
    }
  })

  app.get('/task-performance', async (c) => {
    try {
      const stats = await tasklane.getTaskStats()
      return c.json({
        performance_summary: {
          throughput: `${stats.tasksPerSecond.toFixed(2)} tasks/sec`,
          avg_response_time: `${stats.avgExecutionTimeMs.toFixed(2)}ms`,
          memory_efficiency: `${stats.memoryEfficiency.toFixed(1)}%`,
          worker_utilization: `${stats.avgWorkerUtilization.toFixed(1)}%`,
        },
        detailed_metrics: {
          execution_times: {
            average_ms: stats.avgExecutionTimeMs,
            p95_ms: stats.p95ExecutionTimeMs,
            p99_ms: stats.p99ExecutionTimeMs,
          },
          resource_usage: {
            cpu_usage: stats.workerCpuUsage,
            memory_mb: stats.workerMemoryUsage,
            engine_cpu: stats.engineCpuUsage,
          },
        },
        timestamp: new Date().toISOString(),
      })
    } catch (err) {
      return c.json({ error: 'Failed to get performance metrics', details: (err as Error).message }, 500)
    }
  })

  app.get('/task-analytics/by-task', async (c) => {
    const { window = '24h', bucket = '1h', task } = c.req.query()
    return c.json(await tasklane.getAnalytics({ window, bucket, ...(task ? { task } : {}) }))
  })

  app.post('/sample-load', async (c) => {
    // 20 tasks of 50–500 ms, one in ten failing (it is retried once, then fails).
    const items = Array.from({ length: 20 }, (_, i) => ({ ms: 50 + ((i * 97) % 450), fail: i % 10 === 9 }))
    const enqueued = await tasklane.addTasks(tasks.sampleWork, items)
    return c.json({ message: 'Sample load enqueued', task_ids: enqueued.map((t) => t.taskId) })
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
      '🚀 Starting task analytics example...',
      'Try: curl http://localhost:8000/task-analytics',
      'Try: curl http://localhost:8000/task-performance',
    ],
  })
}
