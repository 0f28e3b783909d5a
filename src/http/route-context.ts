import type { OpenAPIHono } from '@hono/zod-openapi'
import type { MiddlewareHandler } from 'hono'
import type { TasksEnv } from './with-tasks.ts'

/** What each route group registers itself with (see routes.ts). */
export interface RouteContext {
  app: OpenAPIHono<TasksEnv>
  /** Auth, then withTasks: runs first on every route but /health. */
  guard: MiddlewareHandler<TasksEnv>[]
  maxBodyBytes: number
  /** Interval of SSE heartbeat comments. */
  heartbeatMs: number
}

/** Marks a route as needing the bearer token in the OpenAPI document. */
export const SECURED = [{ bearerAuth: [] }]
