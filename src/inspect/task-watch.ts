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
  const deadline = Date.now() + timeoutMs
  try {
    for (;;) {
      // Subscribe before reading, so an event between the read and the wait is not missed.
      const signalled = new Promise<void>((resolve) => {
        wake = resolve
      })
      const info = await reader.get(taskId, { withPosition: false })
      if (!info) throw new TasklaneError('not_found', `no task with id '${taskId}'`)
      if (FINAL_STATUSES.has(info.status)) return info
      const left = deadline - Date.now()
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
 * the task's final status (at once, with that status, for a task already finished).
 */
export async function* streamTaskEvents(
  bus: EventBus,
  reader: TaskReader,
  filter: EventFilter,
): AsyncGenerator<TaskEvent> {
  const buffered: TaskEvent[] = []
  let notify: (() => void) | null = null
  const off = bus.onMessage((m) => {
    if (m.type === 'cancel') return
    if (filter.taskId && m.taskId !== filter.taskId) return
    if (filter.task && m.task !== filter.task) return
    if (filter.queue && m.queue !== filter.queue) return
    buffered.push(m)
    notify?.()
  })
  try {
    if (filter.taskId) {
      const info = await reader.get(filter.taskId, { withPosition: false })
      if (!info) throw new TasklaneError('not_found', `no task with id '${filter.taskId}'`)
      if (FINAL_STATUSES.has(info.status)) {
        yield {
          type: 'status',
          taskId: info.taskId,
          task: info.task,
          queue: info.queue,
          status: info.status,
          at: info.finishedAt ?? new Date().toISOString(),
        }
        return
      }
    }
    for (;;) {
      while (buffered.length > 0) {
        const ev = buffered.shift()!
        yield ev
        if (filter.taskId && ev.type === 'status' && FINAL_STATUSES.has(ev.status)) return
      }
      await new Promise<void>((resolve) => {
        notify = resolve
      })
      notify = null
    }
  } finally {
    off()
  }
}
