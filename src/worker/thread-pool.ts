import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { MessageChannel } from 'node:worker_threads'
import { Piscina } from 'piscina'
import { NonRetryableError } from '../errors.ts'
import type { Logger } from '../logger.ts'
import { siblingModuleUrl } from '../sibling-module.ts'
import type { AttemptExecutor } from './execute-attempt.ts'
import type { MainMessage, ThreadJob, ThreadMessage, ThreadOutcome } from './thread-entry.ts'

const ENTRY = fileURLToPath(siblingModuleUrl('./thread-entry.ts', import.meta.url))

export interface ThreadExecutorOptions {
  /** Attempts running in threads at once, across all memory limits. */
  threads: number
  log: Logger
  /** How long a thread may ignore its aborted signal before it is terminated. Default 1000 ms. */
  abortGraceMs?: number
  /** An idle thread exits after this long. Default 30 s. */
  idleTimeoutMs?: number
}

export interface ThreadExecutor {
  /** Runs a task with `mode: 'thread'` in the pool; its promise settles like an inline run's. */
  execute: AttemptExecutor
  /** Attempts running in threads now. */
  readonly running: number
  /** Terminates every thread (call once the runners have stopped). Idempotent. */
  close(): Promise<void>
}

/** Thrown into an attempt whose thread exceeded the task's memoryLimitMb (or the default heap limit). */
export class TaskMemoryLimitError extends Error {
  constructor(task: string, limitMb: number | null) {
    const limit = limitMb
      ? `its memory limit of ${limitMb} MB (memoryLimitMb)`
      : 'the heap limit of its thread'
    super(
      `task '${task}' exceeded ${limit} and its thread was stopped; the pool replaced the thread. ` +
        'Raise memoryLimitMb or process the input in smaller pieces.',
    )
    this.name = 'TaskMemoryLimitError'
  }
}

/**
 * The worker-thread pool for tasks with `mode: 'thread'`, so CPU-bound work never blocks the event
 * loop that serves HTTP, heartbeats and leases. A thread imports the task's `module` and finds the
 * task by name. ctx.progress and ctx.log are forwarded to the main thread's context; an aborted
 * ctx.signal (cancel, timeout, shutdown) aborts the thread's signal, and a thread still running
 * `abortGraceMs` later is terminated. `memoryLimitMb` caps the thread's heap (V8 resourceLimits):
 * a task exceeding it fails that attempt with TaskMemoryLimitError, and the pool and process survive.
 *
 * resourceLimits are fixed per thread, so there is one piscina pool per distinct memory limit; a
 * shared slot count keeps the total number of busy threads at `threads`.
 * @example
 * const threads = createThreadExecutor({ threads: 2, log })
 * const result = await threads.execute(task, args, ctx)
 * await threads.close()
 */
export function createThreadExecutor({
  threads,
  log,
  abortGraceMs = 1_000,
  idleTimeoutMs = 30_000,
}: ThreadExecutorOptions): ThreadExecutor {
  if (!Number.isInteger(threads) || threads < 1) {
    throw new TypeError(`threads must be an integer of at least 1 (got ${JSON.stringify(threads)})`)
  }
  const pools = new Map<number, Piscina<ThreadJob, ThreadOutcome>>()
  const slots = new Slots(threads)
  let closed = false

  function poolFor(memoryLimitMb: number | null): Piscina<ThreadJob, ThreadOutcome> {
    const key = memoryLimitMb ?? 0
    let pool = pools.get(key)
    if (!pool) {
      pool = new Piscina<ThreadJob, ThreadOutcome>({
        filename: ENTRY,
        minThreads: 0,
        maxThreads: threads,
        idleTimeout: idleTimeoutMs,
        ...(memoryLimitMb ? { resourceLimits: { maxOldGenerationSizeMb: memoryLimitMb } } : {}),
      })
      // A thread that dies with no task on it (rare): piscina replaces it; an unhandled 'error' would
      // take the process down instead.
      pool.on('error', (err: Error) => log.warn({ err: err.message }, 'task thread failed'))
      pools.set(key, pool)
    }
    return pool
  }

  const execute: AttemptExecutor = async (task, args, ctx) => {
    if (closed) throw new Error('the thread pool is closed')
    if (!task.module) throw new NonRetryableError(`task '${task.name}' has mode 'thread' but no module`)
    const moduleUrl = toModuleUrl(task.module)
    const release = await slots.acquire(ctx.signal)
    const { port1, port2 } = new MessageChannel()
    const kill = new AbortController()
    let graceTimer: NodeJS.Timeout | undefined
    const done = new Promise<void>((resolve) => {
      port1.on('message', (m: ThreadMessage) => {
        if (m.type === 'done') resolve()
        else if (m.type === 'progress') {
          ctx
            .progress(m.percent, m.step)
            .catch((err) => ctx.log.warn({ err: (err as Error).message }, 'progress failed'))
        } else if (m.type === 'log') {
          const target = Object.keys(m.bindings).length > 0 ? ctx.log.child(m.bindings) : ctx.log
          ;(target[m.level] as (...a: unknown[]) => void)(...m.args)
        }
      })
      port1.on('close', () => resolve())
    })
    const onAbort = () => {
      const reason = ctx.signal.reason as Error | undefined
      const message: MainMessage = {
        type: 'abort',
        name: reason?.name ?? 'AbortError',
        message: reason?.message ?? 'aborted',
      }
      port1.postMessage(message)
      graceTimer = setTimeout(() => {
        ctx.log.warn(
          { graceMs: abortGraceMs },
          'task thread ignored its aborted signal: terminating the thread',
        )
        kill.abort(reason)
      }, abortGraceMs)
      graceTimer.unref()
    }
    ctx.signal.addEventListener('abort', onAbort, { once: true })
    try {
      const job: ThreadJob = {
        moduleUrl,
        task: task.name,
        args,
        taskId: ctx.taskId,
        attempt: ctx.attempt,
        port: port2,
      }
      let outcome: ThreadOutcome
      try {
        outcome = await poolFor(task.memoryLimitMb).run(job, { transferList: [port2], signal: kill.signal })
      } catch (err) {
        if ((err as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY') {
          throw new TaskMemoryLimitError(task.name, task.memoryLimitMb)
        }
        if (kill.signal.aborted) throw ctx.signal.reason
        throw err
      }
      // Every progress report the task made before returning is delivered before we return.
      await done
      if (outcome.ok) return outcome.result
      const { error } = outcome
      const rebuilt = error.nonRetryable ? new NonRetryableError(error.message) : new Error(error.message)
      // The thread's error keeps its own type (a NonRetryableError subclass too), as it would inline.
      rebuilt.name = error.name
      if (error.stack) rebuilt.stack = error.stack
      throw rebuilt
    } finally {
      ctx.signal.removeEventListener('abort', onAbort)
      clearTimeout(graceTimer)
      port1.close()
      release()
    }
  }

  return {
    execute,
    get running() {
      return slots.busy
    },
    async close() {
      if (closed) return
      closed = true
      await Promise.all([...pools.values()].map((p) => p.destroy()))
      pools.clear()
    },
  }
}

/** `module` as a URL the thread can import: URLs as they are, paths resolved from the working directory. */
export function toModuleUrl(module: string): string {
  if (/^[a-z][a-z0-9+.-]+:/i.test(module)) return module
  return pathToFileURL(path.resolve(module)).href
}

/** A counting semaphore whose waiters leave the line when their signal aborts. */
class Slots {
  readonly #size: number
  #busy = 0
  readonly #waiting: Array<() => void> = []

  constructor(size: number) {
    this.#size = size
  }

  get busy(): number {
    return this.#busy
  }

  async acquire(signal: AbortSignal): Promise<() => void> {
    signal.throwIfAborted()
    if (this.#busy < this.#size) {
      this.#busy++
      return this.#releaser()
    }
    await new Promise<void>((resolve, reject) => {
      const grant = () => {
        signal.removeEventListener('abort', onAbort)
        resolve()
      }
      const onAbort = () => {
        const i = this.#waiting.indexOf(grant)
        if (i >= 0) this.#waiting.splice(i, 1)
        reject(signal.reason)
      }
      signal.addEventListener('abort', onAbort, { once: true })
      this.#waiting.push(grant)
    })
    return this.#releaser()
  }

  #releaser(): () => void {
    let released = false
    return () => {
      if (released) return
      released = true
      const next = this.#waiting.shift()
      // The slot passes straight to the next waiter, so busy stays counted.
      if (next) next()
      else this.#busy--
    }
  }
}
