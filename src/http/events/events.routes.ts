import { createRoute, z } from '@hono/zod-openapi'
import type { Context } from 'hono'
import { type SSEStreamingApi, streamSSE } from 'hono/streaming'
import { TasklaneError } from '../../errors.ts'
import { FINAL_STATUSES, type StatusEvent, type TaskEvent } from '../../events/event-types.ts'
import type { TaskInfo } from '../../inspect/task-info.ts'
import { errorResponses } from '../error-handler.ts'
import { type RouteContext, SECURED } from '../route-context.ts'
import { EventsQuerySchema, IdParamSchema } from '../schemas.ts'
import type { TasksEnv } from '../with-tasks.ts'
import { BusSubscription } from './bus-subscription.ts'

const eventStream = {
  'text/event-stream': {
    schema: z.string().openapi({
      description:
        'Server-Sent Events. event: status | progress (data: the event as JSON); a task stream ends with event: result (completed) or error (failed, cancelled), data: the final TaskInfo. Comment lines are heartbeats.',
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

/** Ends the subscription when the client goes away, however hono or the server notices it. */
function closeOnDisconnect(c: Context, stream: SSEStreamingApi, sub: BusSubscription): void {
  stream.onAbort(() => sub.close())
  c.req.raw.signal?.addEventListener('abort', () => sub.close(), { once: true })
}

function send(stream: SSEStreamingApi, event: string, data: unknown): Promise<void> {
  return stream.writeSSE({ event, data: JSON.stringify(data) })
}

function statusOf(info: TaskInfo): StatusEvent {
  const { taskId, task, queue, status } = info
  // When the task entered this status, from its recorded (database-clock) times.
  const at = info.finishedAt ?? info.startedAt ?? info.createdAt
  return { type: 'status', taskId, task, queue, status, attempt: info.attempts, at }
}

const finalEvent = (info: TaskInfo) => (info.status === 'completed' ? 'result' : 'error')

/**
 * One task's stream: its current status (and progress) first, then live events, then its final
 * state as `result` or `error`, then the end. The bus listener is subscribed before the first read,
 * so nothing that happens in between is lost; on a reconnect of the bus, and at each heartbeat, the
 * task is read again, which also covers databases where LISTEN is unavailable.
 */
async function taskStream(c: Context<TasksEnv>, id: string, heartbeatMs: number): Promise<Response> {
  const tasks = c.var.tasks
  const sub = new BusSubscription(tasks.bus, (e) => e.taskId === id)
  let first: TaskInfo | null
  try {
    first = await tasks.getTask(id)
  } catch (err) {
    sub.close()
    throw err
  }
  if (!first) {
    sub.close()
    throw new TasklaneError('not_found', `no task with id '${id}'`)
  }
  const initial = first
  return streamSSE(c, async (stream) => {
    closeOnDisconnect(c, stream, sub)
    let status = initial.status
    let attempt: number | undefined = initial.attempts
    const refresh = async (): Promise<TaskInfo | null> => {
      const now = await tasks.getTask(id)
      if (now && now.status !== status) {
        status = now.status
        attempt = now.attempts
        await send(stream, 'status', statusOf(now))
      }
      return now
    }
    try {
      await send(stream, 'status', statusOf(initial))
      if (initial.progress) {
        const { taskId, task, queue } = initial
        await send(stream, 'progress', {
          type: 'progress',
          taskId,
          task,
          queue,
          ...initial.progress,
          at: initial.progress.updatedAt,
        })
      }
      if (FINAL_STATUSES.has(initial.status)) return await send(stream, finalEvent(initial), initial)
      for (;;) {
        const item = await sub.next(heartbeatMs)
        if (item === null) return
        if (item === 'idle' || item.type === 'reconnect') {
          if (item === 'idle') await stream.write(': heartbeat\n\n')
          const now = await refresh()
          if (!now) return
          if (FINAL_STATUSES.has(now.status)) return await send(stream, finalEvent(now), now)
          continue
        }
        // A heartbeat's re-read can report a transition before its NOTIFY arrives (under load, seen
        // in the test suite): the same status, same attempt, is not sent twice.
        const repeat =
          item.type === 'status' &&
          item.status === status &&
          (item.attempt === undefined || attempt === undefined || item.attempt === attempt)
        if (!repeat) await send(stream, item.type, item)
        if (item.type !== 'status') continue
        status = item.status
        attempt = item.attempt
        if (FINAL_STATUSES.has(item.status)) {
          const final = await tasks.getTask(id)
          if (final) await send(stream, finalEvent(final), final)
          return
        }
      }
    } catch (err) {
      // The client reconnects (EventSource does by itself) and gets the state again from the snapshot.
      tasks.log.debug({ err: (err as Error).message, taskId: id }, 'task event stream ended early')
      await stream.write(`: stream ended: ${(err as Error).message.replace(/\s+/g, ' ')}\n\n`)
    } finally {
      sub.close()
    }
  })
}

/** Every task's events, filtered by task name and queue, until the client disconnects. */
function allEvents(
  c: Context<TasksEnv>,
  filter: { task?: string | undefined; queue?: string | undefined },
  heartbeatMs: number,
) {
  const tasks = c.var.tasks
  const accept = (e: TaskEvent) =>
    (!filter.task || e.task === filter.task) && (!filter.queue || e.queue === filter.queue)
  const sub = new BusSubscription(tasks.bus, accept)
  return streamSSE(c, async (stream) => {
    closeOnDisconnect(c, stream, sub)
    try {
      await stream.write(': connected\n\n')
      for (;;) {
        const item = await sub.next(heartbeatMs)
        if (item === null) break
        if (item === 'idle') await stream.write(': heartbeat\n\n')
        else if (item.type === 'reconnect')
          await stream.write(': reconnected: events may have been missed\n\n')
        else await send(stream, item.type, item)
      }
      if (sub.overflowed) await stream.write(': too far behind: reconnect\n\n')
    } finally {
      sub.close()
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
