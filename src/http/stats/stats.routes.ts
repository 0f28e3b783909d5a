import { createRoute, z } from '@hono/zod-openapi'
import { parseDuration } from '../../duration.ts'
import { TasklaneError } from '../../errors.ts'
import { errorResponses } from '../error-handler.ts'
import { type RouteContext, SECURED } from '../route-context.ts'
import { AnalyticsQuerySchema, AnalyticsSchema, TaskStatsSchema } from '../schemas.ts'
import { renderMetrics } from './prometheus.ts'

const statsRoute = createRoute({
  method: 'get',
  path: '/stats',
  operationId: 'getStats',
  summary: 'TaskStats of the whole cluster',
  description:
    'Queue sizes, live workers, and rates and percentiles over the sliding window. Defined in docs/stats.md.',
  security: SECURED,
  responses: {
    200: { description: 'the statistics', content: { 'application/json': { schema: TaskStatsSchema } } },
    ...errorResponses(401, 503),
  },
})

const analyticsRoute = createRoute({
  method: 'get',
  path: '/analytics',
  operationId: 'getAnalytics',
  summary: 'Per task name and time bucket: outcomes, throughput, wait and run percentiles, error rate',
  security: SECURED,
  request: { query: AnalyticsQuerySchema },
  responses: {
    200: { description: 'the buckets', content: { 'application/json': { schema: AnalyticsSchema } } },
    ...errorResponses(400, 401, 503),
  },
})

const metricsRoute = createRoute({
  method: 'get',
  path: '/metrics',
  operationId: 'getMetrics',
  summary: 'Prometheus text format',
  security: SECURED,
  responses: {
    200: { description: 'metrics', content: { 'text/plain': { schema: z.string() } } },
    ...errorResponses(401, 503),
  },
})

function durationParam(name: 'window' | 'bucket', raw: string | undefined, fallback: string): number {
  const ms = parseDuration(raw ?? fallback)
  if (ms === null || ms === 0) {
    const message = `must be a duration like '30m', '24h' or '7d' (got ${JSON.stringify(raw)})`
    throw new TasklaneError('validation_failed', `${name} ${message}`, [{ path: name, message }])
  }
  return ms
}

export function registerStatsRoutes({ app, guard }: RouteContext): void {
  app.openapi({ ...statsRoute, middleware: guard }, async (c) =>
    c.json(await c.var.tasks.getTaskStats(), 200),
  )

  app.openapi({ ...analyticsRoute, middleware: guard }, async (c) => {
    const q = c.req.valid('query')
    const analytics = await c.var.tasks.getAnalytics({
      window: durationParam('window', q.window, '24h'),
      bucket: durationParam('bucket', q.bucket, '1h'),
      ...(q.task ? { task: q.task } : {}),
    })
    return c.json(analytics, 200)
  })

  app.openapi({ ...metricsRoute, middleware: guard }, async (c) => {
    const body = renderMetrics(await c.var.tasks.getMetrics())
    return c.text(body, 200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' })
  })
}
