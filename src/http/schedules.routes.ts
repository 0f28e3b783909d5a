import { createRoute, z } from '@hono/zod-openapi'
import { errorResponses } from './error-handler.ts'
import { type RouteContext, SECURED } from './route-context.ts'

const ScheduleSchema = z
  .object({
    task: z.string(),
    key: z.string(),
    cron: z.string(),
    timezone: z.string(),
    args: z.unknown(),
    nextRuns: z
      .array(z.string())
      .openapi({ description: 'the next instants it runs; the first is the pending slot' }),
    lastRunAt: z.string().nullable(),
    lastTaskId: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Schedule')

// Numbers arrive as text; tasklane checks the range and names the field (400 validation_failed).
const count = z
  .string()
  .optional()
  .openapi({ description: 'how many run instants to list (1–1000, default 5)' })

function toCount(raw: string | undefined): number {
  return raw === undefined ? 5 : /^\d+$/.test(raw) ? Number(raw) : Number.NaN
}

const listRoute = createRoute({
  method: 'get',
  path: '/schedules',
  operationId: 'listSchedules',
  summary: 'Cron schedules, each with its next run instants',
  description:
    'Every schedule made with tasks.schedule(). nextRuns lists the instants it will fire, by the DST rule in docs/seed.md.',
  security: SECURED,
  request: { query: z.object({ count }) },
  responses: {
    200: {
      description: 'the schedules, by task and key',
      content: { 'application/json': { schema: z.object({ items: z.array(ScheduleSchema) }) } },
    },
    ...errorResponses(400, 401, 503),
  },
})

const previewRoute = createRoute({
  method: 'get',
  path: '/schedules/preview',
  operationId: 'previewSchedule',
  summary: 'The next run instants of a cron expression',
  description:
    'Computed as schedules fire (the preview is what fires). A step that cannot repeat, like */90 in the minute field, is refused naming the field.',
  security: SECURED,
  request: {
    query: z.object({
      cron: z.string().openapi({ example: '30 2 * * *' }),
      tz: z.string().optional().openapi({ example: 'Europe/Berlin' }),
      from: z.string().optional().openapi({ description: 'list runs after this instant (default now)' }),
      count,
    }),
  },
  responses: {
    200: {
      description: 'the run instants, oldest first',
      content: { 'application/json': { schema: z.object({ runs: z.array(z.string()) }) } },
    },
    ...errorResponses(400, 401, 503),
  },
})

export function registerScheduleRoutes({ app, guard }: RouteContext): void {
  app.openapi({ ...listRoute, middleware: guard }, async (c) => {
    const q = c.req.valid('query')
    return c.json({ items: await c.var.tasks.listSchedules({ count: toCount(q.count) }) }, 200)
  })
  app.openapi({ ...previewRoute, middleware: guard }, async (c) => {
    const q = c.req.valid('query')
    const runs = await c.var.tasks.previewSchedule(q.cron, {
      count: toCount(q.count),
      ...(q.tz !== undefined ? { tz: q.tz } : {}),
      ...(q.from !== undefined ? { from: q.from } : {}),
    })
    return c.json({ runs }, 200)
  })
}
