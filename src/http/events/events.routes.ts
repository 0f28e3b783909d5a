import { createRoute, z } from '@hono/zod-openapi'
import type { Context } from 'hono'
import { type SSEStreamingApi, streamSSE } from 'hono/streaming'
import { FINAL_STATUSES, type TaskEvent } from '../../events/event-types.ts'
import type { TaskStream } from '../../events/task-stream.ts'
import type { TaskInfo } from '../../inspect/task-info.ts'
import { errorResponses } from '../error-handler.ts'
import { type HttpEnv, type RouteContext, SECURED } from '../route-context.ts'
import { EventsQuerySchema, IdParamSchema } from '../schemas.ts'

const eventStream = {
  'text/event-stream': {
    schema: z.string().openapi({
      description:
        'Server-Sent Events. event: status | progress | lagged (data: the event as JSON); a task stream ends with event: result (completed) or error (failed, cancelled), data: the final TaskInfo. lagged ({ type, dropped, complete, taskId?, at }) tells a client that fell behind how many events it missed; a fresh status (and progress) follows. Comment lines are heartbeats.',
    }),
  },
}

const taskEventsRoute = createRoute({
  method: 'get',
  path: '/tasks/{id}/events',
  operationId: 'streamTaskEvents',
  summary: "Stream one task's progress and status changes, then its final state",
  security: SECURED,
  request: { params: IdParamSchema },
  responses: {
    200: { description: 'an event stream', content: eventStream },
    ...errorResponses(401, 404, 503),
  },
})

const allEventsRoute = createRoute({
  method: 'get',
  path: '/events',
  operationId: 'streamEvents',
  summary: 'Stream the events of every task, from every process',
  security: SECURED,
  request: { query: EventsQuerySchema },
  responses: {
    200: { description: 'an event stream', content: eventStream },
    ...errorResponses(400, 401, 503),
  },
})

/** Ends the stream when the client goes away, however hono or the server notices it. */
function closeOnDisconnect(c: Context, sse: SSEStreamingApi, events: TaskStream): void {
  sse.onAbort(() => events.close())
  c.req.raw.signal?.addEventListener('abort', () => events.close(), { once: true })
}

function send(sse: SSEStreamingApi, event: string, data: unknown): Promise<void> {
  return sse.writeSSE({ event, data: JSON.stringify(data) })
}

/** The stream's next event, writing a heartbeat comment every `heartbeatMs` it keeps the client waiting. */
async function nextEvent(
  events: TaskStream,
  sse: SSEStreamingApi,
  heartbeatMs: number,
): Promise<IteratorResult<TaskEvent>> {
  const pending = events.next()
  // If the client goes away during a heartbeat, the pending next() is abandoned: its end is not an error.
  pending.catch(() => {})
  for (;;) {
    let timer: NodeJS.Timeout | undefined
    const idle = new Promise<'idle'>((resolve) => {
      timer = setTimeout(() => resolve('idle'), heartbeatMs)
    })
    const item = await Promise.race([pending, idle])
    clearTimeout(timer)
    if (item !== 'idle') return item
    await sse.write(': heartbeat\n\n')
  }
}

const finalEvent = (info: TaskInfo) => (info.status === 'completed' ? 'result' : 'error')

/**
 * One task's stream (tasks.events({ taskId })): its current status (and progress) first, then live
 * events (`lagged` and a fresh status if the client falls behind), then its final state as `result`
 * or `error`, then the end. The first event is read before the response starts, so an unknown task
 * is a 404. The stream re-reads the task at each heartbeat's interval, which also covers databases
 * where LISTEN is unavailable.
 */
async function taskStream(c: Context<HttpEnv>, id: string, heartbeatMs: number): Promise<Response> {
  const tasks = c.var.tasks
  const events = tasks.events({ taskId: id }, { recheckInterval: heartbeatMs })
  let first: IteratorResult<TaskEvent>
  try {
    first = await events.next()
  } catch (err) {
    events.close()
    throw err
  }
  return streamSSE(c, async (sse) => {
    closeOnDisconnect(c, sse, events)
    try {
      for (let item = first; !item.done; item = await nextEvent(events, sse, heartbeatMs)) {
        await send(sse, item.value.type, item.value)
      }
      const last = events.lastStatus
      if (!last || !FINAL_STATUSES.has(last)) return
      const final = events.finalState ?? (await tasks.getTask(id))
      if (final) await send(sse, finalEvent(final), final)
    } catch (err) {
      // The client reconnects (EventSource does by itself) and gets the state again from the snapshot.
      tasks.log.debug({ err: (err as Error).message, taskId: id }, 'task event stream ended early')
      await sse.write(`: stream ended: ${(err as Error).message.replace(/\s+/g, ' ')}\n\n`)
    } finally {
      events.close()
    }
  })
}

/** Every task's events (tasks.events()), filtered by task name and queue, until the client disconnects. */
function allEvents(
  c: Context<HttpEnv>,
  { task, queue }: { task?: string | undefined; queue?: string | undefined },
  heartbeatMs: number,
) {
  const tasks = c.var.tasks
  const events = tasks.events({ ...(task ? { task } : {}), ...(queue ? { queue } : {}) })
  return streamSSE(c, async (sse) => {
    closeOnDisconnect(c, sse, events)
    try {
      await sse.write(': connected\n\n')
      for (;;) {
        const item = await nextEvent(events, sse, heartbeatMs)
        if (item.done) break
        await send(sse, item.value.type, item.value)
      }
    } finally {
      events.close()
    }
  })
}

export function registerEventRoutes({ app, guard, heartbeatMs }: RouteContext): void {
  app.openapi({ ...taskEventsRoute, middleware: guard }, (c) =>
    taskStream(c, c.req.valid('param').id, heartbeatMs),
  )
  app.openapi({ ...allEventsRoute, middleware: guard }, (c) =>
    allEvents(c, c.req.valid('query'), heartbeatMs),
  )
}
