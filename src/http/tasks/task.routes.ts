import { createRoute } from '@hono/zod-openapi'
import { TasklaneError } from '../../errors.ts'
import { errorResponses } from '../error-handler.ts'
import { type RouteContext, SECURED } from '../route-context.ts'
import {
  IdParamSchema,
  ListQuerySchema,
  NameParamSchema,
  RetryFailedResultSchema,
  TaskIdInPathSchema,
  TaskInfoSchema,
  TaskPageSchema,
} from '../schemas.ts'

const taskInfo = { 'application/json': { schema: TaskInfoSchema } }

const getRoute = createRoute({
  method: 'get',
  path: '/tasks/{task}',
  operationId: 'getTask',
  summary: 'A task, live or finished',
  security: SECURED,
  request: { params: TaskIdInPathSchema },
  responses: { 200: { description: 'the task', content: taskInfo }, ...errorResponses(401, 404, 503) },
})

const listRoute = createRoute({
  method: 'get',
  path: '/tasks',
  operationId: 'listTasks',
  summary: 'List tasks, newest first',
  description:
    'Newest created first, live and finished alike. Pass nextCursor back as cursor for the next page: a walk lists every task matching the filter throughout exactly once, however tasks change state meanwhile.',
  security: SECURED,
  request: { query: ListQuerySchema },
  responses: {
    200: { description: 'a page of tasks', content: { 'application/json': { schema: TaskPageSchema } } },
    ...errorResponses(400, 401, 503),
  },
})

function controlRoute(verb: 'cancel' | 'retry') {
  return createRoute({
    method: 'post',
    path: `/tasks/{id}/${verb}`,
    operationId: `${verb}Task`,
    summary: verb === 'cancel' ? 'Cancel a task' : 'Run a failed or cancelled task again',
    description:
      verb === 'cancel'
        ? 'A queued, scheduled or retrying task never runs; a running one has its ctx.signal aborted.'
        : 'The task gets one more attempt; its previous outcome leaves history.',
    security: SECURED,
    request: { params: IdParamSchema },
    responses: {
      200: { description: 'the task after the change', content: taskInfo },
      ...errorResponses(401, 404, 409, 503),
    },
  })
}

const retryFailedRoute = createRoute({
  method: 'post',
  path: '/tasks/{name}/retry-failed',
  operationId: 'retryFailedTasks',
  summary: 'Run every failed task of one name again',
  description: 'Dead-lettered tasks included; at most 1,000 per call. Answers how many were retried.',
  security: SECURED,
  request: { params: NameParamSchema },
  responses: {
    200: { description: 'how many', content: { 'application/json': { schema: RetryFailedResultSchema } } },
    ...errorResponses(401, 404, 503),
  },
})

function notFound(id: string): TasklaneError {
  return new TasklaneError('not_found', `no task with id '${id}'`)
}

export function registerTaskRoutes({ app, guard }: RouteContext): void {
  app.openapi({ ...getRoute, middleware: guard }, async (c) => {
    const { task: id } = c.req.valid('param')
    const info = await c.var.tasks.getTask(id)
    if (!info) throw notFound(id)
    const attemptsHistory = await c.var.tasks.getAttempts(id)
    return c.json({ ...info, attemptsHistory }, 200)
  })

  app.openapi({ ...listRoute, middleware: guard }, async (c) => {
    const q = c.req.valid('query')
    const page = await c.var.tasks.listTasks({
      ...(q.status ? { status: q.status } : {}),
      ...(q.task ? { task: q.task } : {}),
      ...(q.queue ? { queue: q.queue } : {}),
      ...(q.deadLettered === 'true' ? { deadLettered: true } : {}),
      ...(q.limit !== undefined ? { limit: q.limit } : {}),
      ...(q.cursor ? { cursor: q.cursor } : {}),
    })
    return c.json(page, 200)
  })

  app.openapi({ ...controlRoute('cancel'), middleware: guard }, async (c) => {
    return c.json(await c.var.tasks.cancel(c.req.valid('param').id), 200)
  })

  app.openapi({ ...controlRoute('retry'), middleware: guard }, async (c) => {
    return c.json(await c.var.tasks.retry(c.req.valid('param').id), 200)
  })

  app.openapi({ ...retryFailedRoute, middleware: guard }, async (c) => {
    return c.json(await c.var.tasks.retryFailed(c.req.valid('param').name), 200)
  })
}
