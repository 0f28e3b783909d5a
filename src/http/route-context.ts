import type { OpenAPIHono } from '@hono/zod-openapi'
import type { MiddlewareHandler } from 'hono'
import type { TasklaneHttp } from './tasklane-http.ts'

/** Hono env of tasklane's own routes: the instance's HTTP port on `c.var.tasks`. */
export interface HttpEnv {
  Variables: { tasks: TasklaneHttp }
}

/** What each route group registers itself with (see routes.ts). */
export interface RouteContext {
  app: OpenAPIHono<HttpEnv>
  /** Auth, then the port on `c.var.tasks`: runs first on every route but /health. */
  guard: MiddlewareHandler<HttpEnv>[]
  maxBodyBytes: number
  /** Interval of SSE heartbeat comments. */
  heartbeatMs: number
}

/** Puts the instance's HTTP port on `c.var.tasks` for tasklane's own routes. */
export function withPort(tasks: TasklaneHttp): MiddlewareHandler<HttpEnv> {
  return async function setPort(c, next) {
    c.set('tasks', tasks)
    await next()
  }
}

/** Marks a route as needing the bearer token in the OpenAPI document. */
export const SECURED = [{ bearerAuth: [] }]
