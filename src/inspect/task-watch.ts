import { TasklaneError } from '../errors.ts'
import type { EventBus } from '../events/event-bus.ts'
import { FINAL_STATUSES, type TaskEvent } from '../events/event-types.ts'
import type { TaskInfo } from './task-info.ts'
import type { TaskReader } from './task-reader.ts'

export interface EventFilter {
  taskId?: string
  task?: string
  queue?: string
}

// Where LISTEN is unavailable (PgBouncer in transaction mode) no event arrives: re-read this often.
const RECHECK_MS = 2_000

/**
 * Resolves with the final TaskInfo once the task completes, fails or is cancelled. Re-reads the task
 * when its final status is announced (or the bus reconnects), and every 2 s as a floor.
 */
export async function waitForTask(
  bus: EventBus,
  reader: TaskReader,
  taskId: string,
  timeoutMs: number,
): Promise<TaskInfo> {
  let wake: () => void = () => {}
  const off = bus.onMessage((m) => {
    if (m.type === 'status' && m.taskId === taskId && FINAL_STATUSES.has(m.status)) wake()
  })
  const offReconnect = bus.onReconnect(() => wake())
  // A duration: measured on the monotonic clock.
  const deadline = performance.now() + timeoutMs
  try {
    for (;;) {
      // Subscribe before reading, so an event between the read and the wait is not missed.
      const signalled = new Promise<void>((resolve) => {
        wake = resolve
      })
      const info = await reader.get(taskId, { withPosition: false })
      if (!info) throw new TasklaneError('not_found', `no task with id '${taskId}'`)
      if (FINAL_STATUSES.has(info.status)) return info
      const left = deadline - performance.now()
      if (left <= 0)
        throw new TasklaneError('timeout', `task ${taskId} is still ${info.status} after ${timeoutMs} ms`)
      let timer: NodeJS.Timeout | undefined
      await Promise.race([
        signalled,
        new Promise((res) => (timer = setTimeout(res, Math.min(left, RECHECK_MS)))),
      ])
      clearTimeout(timer)
    }
  } finally {
    off()
    offReconnect()
  }
}

/**
 * Progress and status events from every process, as an async iterator; with `taskId`, it ends after
 * the task's final status (at once, with that status, for a task already finished). Written as an
 * iterator object rather than an async generator so that `return()` (a `break` out of `for await`)
 * unsubscribes at once, even while it is waiting for the next event: a generator would only run its
 * `finally` after the next matching event arrived, holding a bus listener until then.
 */
export function streamTaskEvents(
  bus: EventBus,
  reader: TaskReader,
  filter: EventFilter,
): AsyncGenerator<TaskEvent> {
  const buffered: TaskEvent[] = []
  let waiting: ((r: IteratorResult<TaskEvent>) => void) | null = null
  let done = false
  let first: Promise<void> | null = null
  const off = bus.onMessage((m) => {
    if (done || m.type === 'cancel') return
    if (filter.taskId && m.taskId !== filter.taskId) return
    if (filter.task && m.task !== filter.task) return
    if (filter.queue && m.queue !== filter.queue) return
    if (waiting) {
      const w = waiting
      waiting = null
      w(deliver(m))
    } else buffered.push(m)
  })
  const finish = (): IteratorResult<TaskEvent> => {
    done = true
    off()
    const w = waiting
    waiting = null
    w?.({ done: true, value: undefined })
    return { done: true, value: undefined }
  }
  // After a task's final status, the next call ends the stream.
  let endAfterThis = false
  const deliver = (ev: TaskEvent): IteratorResult<TaskEvent> => {
    if (filter.taskId && ev.type === 'status' && FINAL_STATUSES.has(ev.status)) endAfterThis = true
    return { done: false, value: ev }
  }
  // A task that is already finished (or unknown) is settled before any live event is delivered.
  const checkFinished = async () => {
    if (!filter.taskId) return
    const info = await reader.get(filter.taskId, { withPosition: false })
    if (!info) {
      finish()
      throw new TasklaneError('not_found', `no task with id '${filter.taskId}'`)
    }
    if (FINAL_STATUSES.has(info.status)) {
      buffered.length = 0
      buffered.push({
        type: 'status',
        taskId: info.taskId,
        task: info.task,
        queue: info.queue,
        status: info.status,
        at: info.finishedAt ?? info.createdAt,
      })
    }
  }
  const iterator: AsyncGenerator<TaskEvent> = {
    async next() {
      if (done) return { done: true, value: undefined }
      first ??= checkFinished()
      await first
      if (done) return { done: true, value: undefined }
      if (endAfterThis) return finish()
      const ev = buffered.shift()
      if (ev) return deliver(ev)
      return new Promise<IteratorResult<TaskEvent>>((resolve) => {
        waiting = resolve
      })
    },
    async return() {
      return finish()
    },
    async throw(err: unknown) {
      finish()
      throw err
    },
    [Symbol.asyncIterator]() {
      return iterator
    },
  }
  return iterator
}
