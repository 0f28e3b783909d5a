import { createRoute, z } from '@hono/zod-openapi'
import { errorResponses } from './error-handler.ts'
import { type RouteContext, SECURED } from './route-context.ts'
import { WorkerSchema } from './schemas.ts'

const listRoute = createRoute({
  method: 'get',
  path: '/workers',
  operationId: 'listWorkers',
  summary: 'Live worker processes',
  description:
    'Each process that heartbeated within the heartbeat timeout: its queues, slots, busy slots, RSS and CPU.',
  security: SECURED,
  responses: {
    200: {
      description: 'the live worker processes, oldest first',
      content: { 'application/json': { schema: z.object({ items: z.array(WorkerSchema) }) } },
    },
    ...errorResponses(401, 503),
  },
})

export function registerWorkerRoutes({ app, guard }: RouteContext): void {
  app.openapi({ ...listRoute, middleware: guard }, async (c) =>
    c.json({ items: await c.var.tasks.listWorkers() }, 200),
  )
}
