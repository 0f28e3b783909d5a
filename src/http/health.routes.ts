import { createRoute } from '@hono/zod-openapi'
import { errorResponses } from './error-handler.ts'
import { type RouteContext, SECURED } from './route-context.ts'
import { HealthSchema, ReadySchema } from './schemas.ts'

const healthRoute = createRoute({
  method: 'get',
  path: '/health',
  operationId: 'getHealth',
  summary: 'Liveness: the process answers (no token needed, no database access)',
  // Public on purpose: an empty requirement says so (an absent one reads as "forgotten").
  security: [],
  responses: {
    200: { description: 'alive', content: { 'application/json': { schema: HealthSchema } } },
    // Node's HTTP server answers this itself, on any route, before tasklane sees the request
    // (docs/http.md, "Limits"); listed here because even the liveness probe can get it.
    431: { description: 'request headers too large (over 16 KiB): answered by Node, with no body' },
  },
})

const readyRoute = createRoute({
  method: 'get',
  path: '/ready',
  operationId: 'getReadiness',
  summary: 'Readiness: the database is reachable and its schema is current',
  security: SECURED,
  responses: {
    200: { description: 'ready', content: { 'application/json': { schema: ReadySchema } } },
    503: {
      description: 'not ready; see reason and Retry-After',
      content: { 'application/json': { schema: ReadySchema } },
    },
    ...errorResponses(401),
  },
})

export function registerHealthRoutes({ app, guard }: RouteContext): void {
  app.openapi(healthRoute, (c) => c.json({ status: 'ok' as const }, 200))

  app.openapi({ ...readyRoute, middleware: guard }, async (c) => {
    try {
      const { pendingMigrations: pending } = await c.var.tasks.readiness()
      if (pending.length > 0) {
        return c.json({ status: 'not_ready' as const, reason: 'migrations pending', pending }, 503)
      }
      return c.json({ status: 'ready' as const }, 200)
    } catch (err) {
      c.header('Retry-After', '5')
      return c.json({ status: 'not_ready' as const, reason: (err as Error).message }, 503)
    }
  })
}
