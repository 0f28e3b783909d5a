/**
 * Seed example "Graceful Shutdown". The seed sets a flag and sleeps 5 s "hoping" tasks finish; here
 * SIGTERM/SIGINT drain for real: tasklane stops leasing, waits for the running tasks (up to
 * TASKLANE_SHUTDOWN_TIMEOUT), aborts what is left through ctx.signal and hands it back to the queue
 * without spending an attempt, so another process (or this one, restarted) runs it. HTTP keeps
 * answering during the drain, so /shutdown-status can say what it is waiting for; a task enqueued
 * meanwhile is safe in Postgres.
 *
 *   npx tsx examples/10-graceful-shutdown.ts
 *   curl -X POST http://localhost:8000/start-task
 *   curl http://localhost:8000/shutdown-status
 *   kill -TERM <pid>   (or Ctrl+C), then curl /shutdown-status again while it drains
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { Hono } from 'hono'
import { createTasklane, defineTask, loadConfig, type Tasklane } from 'tasklane'
import { isMain, serveExample } from './support/serve-example.ts'

export function createTasks({ timeScale = 1 } = {}) {
  const longRunningTask = defineTask({
    name: 'long-running-task',
    async run({ steps = 10, stepMs = 1_000 }: { steps?: number; stepMs?: number }, ctx) {
      for (let i = 0; i < steps; i++) {
        // The signal aborts if the drain times out: the task stops here and runs again elsewhere.
        await sleep(stepMs * timeScale, undefined, { signal: ctx.signal })
        await ctx.progress(((i + 1) * 100) / steps, `Task progress: ${i + 1}/${steps}`)
      }
      return { result: 'Task completed successfully' }
    },
  })
  return { longRunningTask }
}

/**
 * Counts the attempts running in this process from its lifecycle events: each starts with
 * `task:start` and ends with `task:success`, `task:retry` or `task:failure` (docs/observability.md).
 */
function runningHere(tasklane: Tasklane): () => number {
  const running = new Set<string>()
  tasklane.on('task:start', (e) => void running.add(e.taskId))
  for (const end of ['task:success', 'task:retry', 'task:failure'] as const) {
    tasklane.on(end, (e) => void running.delete(e.taskId))
  }
  return () => running.size
}

export interface GracefulShutdown {
  /** Set the moment a signal arrives (the seed's shutdown_requested). */
  readonly requested: boolean
  /** Attempts running in this process now. */
  running(): number
  /** Drains this process's tasks; resolves once nothing runs here. Idempotent. */
  run(): Promise<void>
}

/**
 * What SIGTERM and SIGINT do: stop leasing, let running tasks finish (TASKLANE_SHUTDOWN_TIMEOUT),
 * hand the rest back to the queue.
 * @example process.once('SIGTERM', () => shutdown.run().then(() => process.exit(0)))
 */
export function createGracefulShutdown(tasklane: Tasklane): GracefulShutdown {
  let draining: Promise<void> | null = null
  const running = runningHere(tasklane)
  return {
    get requested() {
      return draining !== null
    },
    running,
    run() {
      draining ??= (async () => {
        console.log('🛑 Graceful shutdown initiated...')
        console.log(`⏳ Waiting for ${running()} running task(s) to complete...`)
        await tasklane.stop({ timeout: tasklane.config.shutdownTimeoutMs })
        console.log('✅ Graceful shutdown completed')
      })()
      return draining
    },
  }
}

export function createExampleApp(
  tasklane: Tasklane,
  tasks: ReturnType<typeof createTasks>,
  shutdown: GracefulShutdown = createGracefulShutdown(tasklane),
): Hono {
  const app = new Hono()

  app.post('/start-task', async (c) => {
    const { taskId, status } = await tasklane.addTask(tasks.longRunningTask, {})
    return c.json({ message: 'Task started', task_id: taskId, status })
  })

  app.get('/shutdown-status', (c) => {
    const running = shutdown.running()
    return c.json({
      shutdown_requested: shutdown.requested,
      message: shutdown.requested
        ? `Shutdown in progress: waiting for ${running} running task(s)`
        : 'Server is running normally',
    })
  })

  return app
}

if (isMain(import.meta.url)) {
  const config = loadConfig()
  const tasks = createTasks({ timeScale: config.demoTimeScale })
  const tasklane = createTasklane({ config, tasks: Object.values(tasks), workers: 4 })
  await tasklane.start()
  const shutdown = createGracefulShutdown(tasklane)
  const server = serveExample(createExampleApp(tasklane, tasks, shutdown), tasklane, {
    banner: [
      '🚀 Starting graceful shutdown example...',
      'Try: curl http://localhost:8000/shutdown-status',
      'Press Ctrl+C to test graceful shutdown',
    ],
    // HTTP keeps answering while the tasks drain; then the server closes and the process exits.
    onSignal: () =>
      void shutdown.run().then(() => {
        server.close()
        process.exit(0)
      }),
  })
}
