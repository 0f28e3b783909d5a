import { createRoute } from '@hono/zod-openapi'
import { buildRequest, type EnqueueOptions, type EnqueueRequest } from '../../enqueue/enqueue-request.ts'
import { TasklaneError } from '../../errors.ts'
import type { TaskDefinition } from '../../tasks/define-task.ts'
import { errorResponses } from '../error-handler.ts'
import { jsonBody } from '../json-body.ts'
import { type RouteContext, SECURED } from '../route-context.ts'
import {
  BatchBodySchema,
  BatchResultSchema,
  EnqueueBodySchema,
  EnqueueResultSchema,
  IdempotencyHeaderSchema,
  NameParamSchema,
  TaskNameInPathSchema,
} from '../schemas.ts'

type EnqueueFields = {
  args?: unknown
  priority?: string
  delay?: string | number
  startAfter?: string
  idempotencyKey?: string
}

/** Validates one item, naming fields under `prefix` (`items.3.args.userId`) so a batch error points at its item. */
function requestFor(
  task: TaskDefinition<unknown, unknown>,
  item: EnqueueFields,
  prefix: string,
): EnqueueRequest {
  const { args, ...rest } = item
  try {
    return buildRequest(task, args, rest as EnqueueOptions)
  } catch (err) {
    if (!(err instanceof TasklaneError) || !prefix) throw err
    const details = err.details.map((d) => ({ ...d, path: `${prefix}${d.path ?? ''}` }))
    throw new TasklaneError(err.code, `${prefix.slice(0, -1)}: ${err.message}`, details)
  }
}

/** The body's idempotencyKey or the Idempotency-Key header; both must agree when both are given. */
function keyOf(header: string | undefined, body: string | undefined): string | undefined {
  if (header !== undefined && body !== undefined && header !== body) {
    throw new TasklaneError(
      'validation_failed',
      'the Idempotency-Key header and idempotencyKey in the body differ: send one',
      [{ path: 'idempotencyKey', message: 'differs from the Idempotency-Key header' }],
    )
  }
  return body ?? header
}

const enqueueRoute = createRoute({
  method: 'post',
  path: '/tasks/{task}',
  operationId: 'enqueueTask',
  summary: 'Enqueue a task',
  description:
    'Validates the args against the task schema and enqueues it. The same idempotency key again answers 200 with the same taskId and deduplicated: true; with a different body, 409.',
  security: SECURED,
  request: {
    params: TaskNameInPathSchema,
    headers: IdempotencyHeaderSchema,
    body: { content: { 'application/json': { schema: EnqueueBodySchema } }, required: false },
  },
  responses: {
    202: { description: 'enqueued', content: { 'application/json': { schema: EnqueueResultSchema } } },
    200: {
      description: 'deduplicated: this idempotency key was used before',
      content: { 'application/json': { schema: EnqueueResultSchema } },
    },
    ...errorResponses(400, 401, 404, 409, 413, 415, 503),
  },
})

const batchRoute = createRoute({
  method: 'post',
  path: '/tasks/{name}/batch',
  operationId: 'enqueueTasks',
  summary: 'Enqueue many tasks of one kind, all or none',
  description: 'Every item is validated first; one invalid item rejects the batch and nothing is written.',
  security: SECURED,
  request: {
    params: NameParamSchema,
    body: { content: { 'application/json': { schema: BatchBodySchema } }, required: true },
  },
  responses: {
    202: { description: 'enqueued', content: { 'application/json': { schema: BatchResultSchema } } },
    200: {
      description: 'every item was deduplicated',
      content: { 'application/json': { schema: BatchResultSchema } },
    },
    ...errorResponses(400, 401, 404, 409, 413, 415, 503),
  },
})

export function registerEnqueueRoutes({ app, guard, maxBodyBytes }: RouteContext): void {
  const body = jsonBody({ maxBytes: maxBodyBytes })

  app.openapi({ ...enqueueRoute, middleware: [...guard, ...body] }, async (c) => {
    const tasks = c.var.tasks
    const task = tasks.requireTask(c.req.valid('param').task)
    const { idempotencyKey, ...fields } = c.req.valid('json')
    const key = keyOf(c.req.valid('header')['idempotency-key'], idempotencyKey)
    const request = requestFor(task, { ...fields, ...(key !== undefined ? { idempotencyKey: key } : {}) }, '')
    const [result] = await tasks.enqueueRequests([request])
    c.header('Location', `./${result!.taskId}`)
    return c.json(result!, result!.deduplicated ? 200 : 202)
  })

  app.openapi({ ...batchRoute, middleware: [...guard, ...body] }, async (c) => {
    const tasks = c.var.tasks
    const task = tasks.requireTask(c.req.valid('param').name)
    if (c.req.header('idempotency-key') !== undefined) {
      throw new TasklaneError(
        'validation_failed',
        'a batch takes no Idempotency-Key header: give each item its own idempotencyKey',
        [{ path: 'Idempotency-Key', message: 'not accepted on a batch' }],
      )
    }
    const requests = c.req.valid('json').items.map((item, i) => requestFor(task, item, `items.${i}.`))
    const items = await tasks.enqueueRequests(requests)
    return c.json({ items }, items.every((r) => r.deduplicated) ? 200 : 202)
  })
}
