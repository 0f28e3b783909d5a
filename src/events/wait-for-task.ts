import { MAX_TIMER_MS } from '../duration.ts'
import { TasklaneError } from '../errors.ts'
import { FINAL_STATUSES } from './event-types.ts'
import type { TaskState, TaskStream } from './task-stream.ts'

/**
 * Resolves with the task's final state once it completes, fails or is cancelled: it follows the
 * task's stream (which reads the task first, re-reads it on a reconnect and every few seconds, and
 * ends after the final status), then reads the final state unless the stream already did.
 * Throws not_found for an unknown task, timeout after `timeoutMs` (naming the last status seen).
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
  // (The timer may fire just after the final status came: that is not a timeout.)
  if (timedOut && !(status && FINAL_STATUSES.has(status))) {
    const still = status ? `is still ${status}` : 'did not finish'
    throw new TasklaneError('timeout', `task ${taskId} ${still} after ${timeoutMs} ms`)
  }
  const final = stream.finalState ?? (await readState(taskId))
  if (!final) throw new TasklaneError('not_found', `no task with id '${taskId}'`)
  return final
}
