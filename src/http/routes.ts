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

/**
 * Options of tasklaneRoutes(). apiToken and maxBodyBytes default to the instance's configuration.
 * @example app.route('/api', tasklaneRoutes(tasks, { apiToken: null, maxBodyBytes: 256 * 1024 }))
 */
export interface TasklaneRoutesOptions {
  /**
   * Bearer token every route but /health requires (`Authorization: Bearer <token>`, or the dashboard's
   * cookie). Default: config.apiToken (TASKLANE_API_TOKEN); null: no auth.
   */
  apiToken?: string | null
  /**
   * Largest request body, in bytes: a larger one is answered 413 `payload_too_large`. Default:
   * config.maxBodyBytes (TASKLANE_MAX_BODY, 1 MiB).
   */
  maxBodyBytes?: number
  /** Interval of the comment lines an SSE response sends while no event comes, in ms. Default 15000. */
  heartbeatMs?: number
  /** Retry-After of 503 answers while the database is unreachable, in seconds. Default 5. */
  retryAfterSeconds?: number
}

/**
 * tasklane's HTTP API as a Hono app to mount: tasks, events (SSE), stats, analytics, metrics,
 * health, OpenAPI (docs/http.md). Auth is attached to each route rather than with `use('*')`, which,
 * once mounted at '/', would also guard the host app's own routes; errors are shaped by this app's
 * onError. The routes use only the instance's HTTP port (TasklaneHttp: http/tasklane-http.ts), never
 * the instance itself. It can be made before start(): its routes read the instance when they are
 * called. Throws a TypeError when `tasks` was not made with createTasklane().
 * @example
 * const app = new Hono()
 * app.route('/', tasklaneRoutes(tasks))
 */
export function tasklaneRoutes(tasks: Tasklane, options: TasklaneRoutesOptions = {}): OpenAPIHono {
  // Typed with Hono's blank env: HttpEnv's port on `c.var.tasks` is set per route for tasklane's own
  // routes only (a route the host app adds to this app does not get it), and naming it here would put
  // the internal port into the published declarations. Hono's env is invariant, hence the cast.
  return routesOver(engineOf(tasks).http, options) as unknown as OpenAPIHono
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
