// A `tasklane serve --no-workers`-like process: createApp() on @hono/node-server, no token, the
// bench task registered. Prints {"port": N} once listening; SIGTERM stops it like serve does.
// Env: DATABASE_URL (migrated already), WORKERS (default 0: an API-only process).
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { loadConfig } from '../../../src/config.ts'
import { createApp } from '../../../src/http/app.ts'
import { createTasklane } from '../../../src/tasklane.ts'
import { defineTask } from '../../../src/tasks/define-task.ts'
import { BENCH_QUEUE, BENCH_TASK, benchLogger } from '../tasklane.system.ts'

const log = benchLogger()
const workers = Number(process.env.WORKERS ?? 0)
const bench = defineTask({ name: BENCH_TASK, queue: BENCH_QUEUE, run: () => null })
const tasks = createTasklane({
  databaseUrl: process.env.DATABASE_URL!,
  config: loadConfig({ LOG_LEVEL: log.level }),
  logger: log,
  tasks: [bench],
  migrate: false,
  workers,
  ...(workers > 0 ? { queues: { [BENCH_QUEUE]: { concurrency: workers, prefetch: 500 } } } : {}),
})
await tasks.start()
const app = createApp({ tasks })
const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info: AddressInfo) => {
  process.stdout.write(`${JSON.stringify({ port: info.port })}\n`)
})

let stopping = false
process.on('SIGTERM', () => {
  if (stopping) return
  stopping = true
  ;(server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.()
  server.close()
  void tasks.stop({ timeout: 5_000 }).finally(() => process.exit(0))
})
