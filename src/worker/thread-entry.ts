// Runs inside a worker thread of the thread pool (thread-pool.ts): imports a task's module, finds the
// task by name and runs it. Progress, logs and aborts travel over a MessagePort of the attempt's own;
// the result and any error come back as the piscina task's value (errors flattened, since structured
// clone drops an error's class and with it NonRetryableError's meaning).
import type { MessagePort } from 'node:worker_threads'
import { isTaskDefinition, type TaskContext, type TaskDefinition } from '../tasks/define-task.ts'

/** What the main thread sends for one attempt. */
export interface ThreadJob {
  /** URL of the module exporting the task. */
  moduleUrl: string
  task: string
  args: unknown
  taskId: string
  attempt: number
  port: MessagePort
}

export interface ThreadError {
  name: string
  message: string
  stack?: string
  /** Thrown as NonRetryableError (or a missing task, which no retry can fix). */
  nonRetryable: boolean
}

export type ThreadOutcome = { ok: true; result: unknown } | { ok: false; error: ThreadError }

/** Messages from the thread to the main thread, in order on the attempt's port. */
export type ThreadMessage =
  | { type: 'progress'; percent: number; step?: string }
  | { type: 'log'; level: LogLevel; bindings: Record<string, unknown>; args: unknown[] }
  | { type: 'done' }

/** Messages from the main thread. */
export type MainMessage = { type: 'abort'; name: string; message: string }

type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace'
const LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace']

const modules = new Map<string, Promise<Record<string, unknown>>>()

export default async function runInThread(job: ThreadJob): Promise<ThreadOutcome> {
  const { port } = job
  const controller = new AbortController()
  port.on('message', (m: MainMessage) => {
    if (m.type !== 'abort') return
    const reason = new Error(m.message)
    reason.name = m.name
    controller.abort(reason)
  })
  try {
    const task = await findTask(job.moduleUrl, job.task)
    const ctx: TaskContext = {
      taskId: job.taskId,
      attempt: job.attempt,
      signal: controller.signal,
      async progress(percent, step) {
        if (typeof percent !== 'number' || !Number.isFinite(percent)) {
          throw new TypeError(`ctx.progress(percent) takes a number from 0 to 100 (got ${String(percent)})`)
        }
        post(port, { type: 'progress', percent, ...(step === undefined ? {} : { step: String(step) }) })
      },
      log: threadLogger(port, {}) as unknown as TaskContext['log'],
    }
    const result = await task.run(job.args, ctx)
    return { ok: true, result }
  } catch (err) {
    return { ok: false, error: flatten(err) }
  } finally {
    // 'done' is the last message on the port: the main thread waits for it, so no progress report
    // sent before the task returned can arrive after the attempt has been settled.
    post(port, { type: 'done' })
    port.close()
  }
}

function post(port: MessagePort, message: ThreadMessage): void {
  port.postMessage(message)
}

async function findTask(moduleUrl: string, name: string): Promise<TaskDefinition<unknown, unknown>> {
  let loading = modules.get(moduleUrl)
  if (!loading) {
    loading = import(moduleUrl) as Promise<Record<string, unknown>>
    modules.set(moduleUrl, loading)
    loading.catch(() => modules.delete(moduleUrl))
  }
  const exports = await loading
  for (const value of Object.values(exports)) {
    for (const candidate of Array.isArray(value)
      ? value
      : isTaskDefinition(value)
        ? [value]
        : Object.values(plain(value))) {
      if (isTaskDefinition(candidate) && candidate.name === name) return candidate
    }
  }
  const error = new Error(
    `task '${name}' runs in a thread, but ${moduleUrl} exports no task named '${name}': ` +
      'export the defineTask() result (or an array containing it) from the module named in its `module` option',
  )
  error.name = 'TaskNotFoundInModule'
  throw Object.assign(error, { nonRetryable: true })
}

function plain(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype
    ? (value as Record<string, unknown>)
    : {}
}

function flatten(err: unknown): ThreadError {
  if (err instanceof Error) {
    return {
      name: err.name,
      message: err.message,
      ...(err.stack ? { stack: err.stack } : {}),
      nonRetryable:
        err.name === 'NonRetryableError' || (err as { nonRetryable?: boolean }).nonRetryable === true,
    }
  }
  return { name: typeof err, message: String(err), nonRetryable: false }
}

/** A pino-shaped logger whose records are logged by the main thread's ctx.log. */
function threadLogger(port: MessagePort, bindings: Record<string, unknown>): Record<string, unknown> {
  const log: Record<string, unknown> = {
    child: (more: Record<string, unknown>) => threadLogger(port, { ...bindings, ...more }),
  }
  for (const level of LEVELS) {
    log[level] = (...args: unknown[]) => {
      try {
        post(port, { type: 'log', level, bindings, args: args.map(cloneable) })
      } catch {
        // A closed port (the attempt is over) or an uncloneable value: logging must never fail a task.
      }
    }
  }
  return log
}

function cloneable(value: unknown): unknown {
  if (value instanceof Error) return { type: value.name, message: value.message, stack: value.stack }
  return value
}
