import type { TaskContext, TaskDefinition } from '../tasks/define-task.ts'

/** Runs one attempt of a task: inline on the event loop, or in the worker-thread pool. */
export type AttemptExecutor = (
  task: TaskDefinition<any, any>,
  args: unknown,
  ctx: TaskContext,
) => Promise<unknown>

export const executeInline: AttemptExecutor = async (task, args, ctx) => task.run(args, ctx)

/**
 * Settles with the task's result, or rejects with the signal's reason as soon as it aborts, even if
 * the task ignores its signal (its promise is then left to finish on its own).
 */
export function raceSignal<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    // The task may have aborted its own attempt before this call (a refused ctx.progress in its
    // first synchronous step): its promise still settles, and its rejection is already reported
    // through the signal, so it must not surface as an unhandled rejection.
    work.catch(() => {})
    return Promise.reject(signal.reason)
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort)
        resolve(v)
      },
      (e) => {
        signal.removeEventListener('abort', onAbort)
        reject(e)
      },
    )
  })
}
