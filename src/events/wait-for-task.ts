import { MAX_TIMER_MS } from '../duration.ts'
import { TasklaneError } from '../errors.ts'
import { FINAL_STATUSES } from './event-types.ts'
import type { TaskState, TaskStream } from './task-stream.ts'

/**
 * Resolves with the task's final state once it completes, fails or is cancelled: it follows the
 * task's stream (which reads the task first, re-reads it on a reconnect and every few seconds, and
 * ends after the final status), then reads the final state unless the stream already did.
 * Throws not_found for an unknown task, timeout after `timeoutMs` (naming the status it is in).
 * @example const info = await waitForTask(stream, (id) => reader.get(id), taskId, 30_000)
 */
export async function waitForTask<S extends TaskState>(
  stream: TaskStream<S>,
  readState: (taskId: string) => Promise<S | null>,
  taskId: string,
  timeoutMs: number,
): Promise<S> {
  let timedOut = false
  // Longer than a timer can wait (about 24.8 days) is as good as forever; Node.js would fire it at once.
  const timer = setTimeout(
    () => {
      timedOut = true
      stream.close()
    },
    Math.min(timeoutMs, MAX_TIMER_MS),
  )
  try {
    // The events themselves do not matter here: only where the stream ends.
    for await (const _ of stream);
  } finally {
    clearTimeout(timer)
    stream.close()
  }
  const status = stream.lastStatus
  // One last read settles a timeout: it names the status the task is still in (the stream may not
  // have read it yet, on a loaded machine), and a task that finished just then is no timeout.
  const settled = !timedOut || (status !== undefined && FINAL_STATUSES.has(status))
  const final = (settled ? stream.finalState : null) ?? (await readState(taskId))
  if (!final) throw new TasklaneError('not_found', `no task with id '${taskId}'`)
  if (!FINAL_STATUSES.has(final.status))
    throw new TasklaneError('timeout', `task ${taskId} is still ${final.status} after ${timeoutMs} ms`)
  return final
}
