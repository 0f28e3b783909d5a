import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import type { Config } from '../config.ts'
import { createApp } from '../http/app.ts'
import type { Logger } from '../logger.ts'
import { createTasklane } from '../tasklane.ts'
import { loadTaskModule } from './task-module.ts'

/** How long an idle keep-alive connection stays open (see below). */
const KEEP_ALIVE_MS = 65_000

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost'])

export interface ServeOptions {
  config: Readonly<Config>
  log: Logger
  tasksModule: string | undefined
  workers: boolean
  /** false: `tasklane worker` (no HTTP). */
  http?: boolean
  insecure: boolean
}

/**
 * `tasklane serve` / `tasklane worker`: the composition root of a server process. Resolves -1 and
 * keeps running; SIGTERM/SIGINT drain it (stop accepting, finish or hand back tasks, close) and exit.
 */
export async function runServe(o: ServeOptions): Promise<number> {
  const { config, log } = o
  const http = o.http ?? true
  if (http && !LOOPBACK.has(config.host) && !config.apiToken && !o.insecure) {
    console.error(
      `tasklane: refusing to listen on ${config.host} without TASKLANE_API_TOKEN: anyone who can reach it could enqueue and cancel tasks. ` +
        'Set TASKLANE_API_TOKEN (openssl rand -hex 24), or pass --insecure if something in front of it authenticates.',
    )
    return 2
  }
  const mod = await loadTaskModule(o.tasksModule)
  const tasklane = createTasklane({
    ...mod.options,
    config,
    logger: log,
    tasks: mod.tasks,
    ...(o.workers ? {} : { workers: 0 }),
  })
  await tasklane.start()
  if (config.databaseUrl === undefined)
    console.log(`tasklane: using the embedded Postgres in ${config.embeddedDataDir}`)
  let server: ReturnType<typeof serve> | null = null
  if (http) {
    const app = createApp({ tasks: tasklane, extraRoutes: mod.routes?.(tasklane) })
    await new Promise<void>((resolve) => {
      server = serve({ fetch: app.fetch, hostname: config.host, port: config.port }, (info: AddressInfo) => {
        log.info({ host: info.address, port: info.port }, 'listening')
        console.log(`tasklane: listening on http://${config.host}:${info.port}`)
        resolve()
      })
    })
    // Node closes a keep-alive connection 5 s after its last answer, and clients reuse one until 1 s
    // before the `timeout=5` it advertises: a server stalled for more than that second (a loaded
    // machine, a long GC) closes connections a client has just sent a request on, and the client sees
    // ECONNRESET (a fault-test run saw 45 at once). 65 s, as advised behind load balancers whose idle
    // timeout is 60 s, leaves that race to connections idle for a minute. Headers must time out later.
    const node = server as unknown as { keepAliveTimeout: number; headersTimeout: number }
    node.keepAliveTimeout = KEEP_ALIVE_MS
    node.headersTimeout = KEEP_ALIVE_MS + 1_000
  }
  let stopping = false
  const shutdown = async (signal: string) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now')
      process.exit(1)
    }
    stopping = true
    log.info({ signal }, 'shutting down')
    const closed = server ? new Promise<void>((r) => server!.close(() => r())) : Promise.resolve()
    // Open keep-alive and SSE connections would hold close() until they end on their own.
    ;(server as unknown as { closeAllConnections?: () => void } | null)?.closeAllConnections?.()
    await tasklane.stop({ timeout: config.shutdownTimeoutMs })
    await closed
    log.flush()
    process.exit(0)
  }
  process.on('SIGTERM', () => void shutdown('SIGTERM'))
  process.on('SIGINT', () => void shutdown('SIGINT'))
  return -1
}
