import { OpenAPIHono } from '@hono/zod-openapi'
import { engineOf } from '../internal.ts'
import type { Tasklane } from '../tasklane.ts'
import { bearerAuth } from './auth.ts'
import { errorHandler, validationHook } from './error-handler.ts'
import { registerEventRoutes } from './events/events.routes.ts'
import { registerHealthRoutes } from './health.routes.ts'
import { registerDocsRoutes } from './openapi/docs.routes.ts'
import { type HttpEnv, type RouteContext, withPort } from './route-context.ts'
import { registerScheduleRoutes } from './schedules.routes.ts'
import { registerStatsRoutes } from './stats/stats.routes.ts'
import type { TasklaneHttp } from './tasklane-http.ts'
import { registerEnqueueRoutes } from './tasks/enqueue.routes.ts'
import { registerTaskRoutes } from './tasks/task.routes.ts'
import { registerWorkerRoutes } from './workers.routes.ts'

export interface TasklaneRoutesOptions {
  /** Bearer token every route but /health requires. Default: config.apiToken (TASKLANE_API_TOKEN); null: none. */
  apiToken?: string | null
  /** Largest request body, in bytes. Default: config.maxBodyBytes (TASKLANE_MAX_BODY, 1 MiB). */
  maxBodyBytes?: number
  /** SSE heartbeat comment interval. Default 15 s. */
  heartbeatMs?: number
  /** Retry-After of 503 answers while the database is unreachable, in seconds. Default 5. */
  retryAfterSeconds?: number
}

/**
 * tasklane's HTTP API as a Hono app to mount: tasks, events (SSE), stats, analytics, metrics,
 * health, OpenAPI. Auth is attached to each route rather than with `use('*')`, which, once mounted
 * at '/', would also guard the host app's own routes; errors are shaped by this app's onError.
 * The routes use only the instance's HTTP port (TasklaneHttp: http/tasklane-http.ts), never the
 * instance itself.
 * @example
 * const app = new Hono()
 * app.route('/', tasklaneRoutes(tasks))
 */
export function tasklaneRoutes(tasks: Tasklane, options: TasklaneRoutesOptions = {}): OpenAPIHono<HttpEnv> {
  return routesOver(engineOf(tasks).http, options)
}

/**
 * tasklaneRoutes over a port: what it builds, given only what the routes use.
 * @internal
 */
export function routesOver(tasks: TasklaneHttp, options: TasklaneRoutesOptions = {}): OpenAPIHono<HttpEnv> {
  const {
    apiToken = tasks.apiToken ?? null,
    maxBodyBytes = tasks.maxBodyBytes,
    heartbeatMs = 15_000,
    retryAfterSeconds = 5,
  } = options
  const app = new OpenAPIHono<HttpEnv>({ defaultHook: validationHook })
  app.onError(errorHandler({ log: tasks.log, retryAfterSeconds }))
  const ctx: RouteContext = {
    app,
    guard: [bearerAuth({ token: apiToken }), withPort(tasks)],
    maxBodyBytes,
    heartbeatMs,
  }
  registerHealthRoutes(ctx)
  registerEnqueueRoutes(ctx)
  registerTaskRoutes(ctx)
  registerEventRoutes(ctx)
  registerStatsRoutes(ctx)
  registerWorkerRoutes(ctx)
  registerScheduleRoutes(ctx)
  registerDocsRoutes(ctx)
  return app
}
