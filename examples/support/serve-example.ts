// What every example does when run directly: listen on PORT (default 8000) and shut down gracefully.
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { isMainThread } from 'node:worker_threads'
import { serve } from '@hono/node-server'
import type { Context, Hono } from 'hono'
import { type Tasklane, TasklaneError } from 'tasklane'

/**
 * True when `moduleUrl` is the file node was started with: false when a test imports the example, or
 * when a worker thread imports it to find a task with mode: 'thread'.
 * @example if (isMain(import.meta.url)) await main()
 */
export function isMain(moduleUrl: string): boolean {
  const entry = process.argv[1]
  return isMainThread && entry !== undefined && pathToFileURL(path.resolve(entry)).href === moduleUrl
}

export interface ServeExampleOptions {
  /** Printed once listening: the seed's "🚀 Starting …" and "Try: curl …" lines. */
  banner: string[]
  /** Replaces the default SIGTERM/SIGINT handling (stop HTTP, drain tasks, exit). */
  onSignal?: (signal: NodeJS.Signals) => void
}

/**
 * Serves `app` on the configured HOST:PORT. On SIGTERM/SIGINT it stops accepting connections, lets
 * running tasks finish for up to TASKLANE_SHUTDOWN_TIMEOUT, hands the rest back to the queue (another
 * process, or this one after a restart, runs them) and exits.
 * @example serveExample(createExampleApp(tasklane, tasks), tasklane, { banner: ['Try: curl …'] })
 */
export function serveExample(app: Hono, tasklane: Tasklane, { banner, onSignal }: ServeExampleOptions) {
  const { host, port, shutdownTimeoutMs } = tasklane.config
  const server = serve({ fetch: app.fetch, hostname: host, port }, () => {
    for (const line of banner) console.log(line.replaceAll('localhost:8000', `localhost:${port}`))
  })
  const stop = async () => {
    server.close()
    await tasklane.stop({ timeout: shutdownTimeoutMs })
    process.exit(0)
  }
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => (onSignal ? onSignal(signal) : void stop()))
  }
  return server
}

/**
 * Hono's onError for the examples: tasklane's errors (a bad delay, an unknown task, an invalid cron)
 * carry their HTTP status and a stable code; a body that is not JSON is a 400; anything else a 500.
 * @example app.onError(jsonErrors)
 */
export function jsonErrors(err: Error, c: Context): Response {
  if (err instanceof TasklaneError) {
    return c.json(
      { error: { code: err.code, message: err.message, details: err.details } },
      err.status as 400,
    )
  }
  if (err instanceof SyntaxError)
    return c.json({ error: { code: 'malformed_json', message: err.message } }, 400)
  console.error(err)
  return c.json({ error: { code: 'internal', message: 'Internal error' } }, 500)
}
