import { randomUUID } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { afterAll, describe, expect, it } from 'vitest'
import { NonRetryableError, TaskTimeoutError } from '../../src/errors.ts'
import { createLogger } from '../../src/logger.ts'
import { defineTask, type TaskContext } from '../../src/tasks/define-task.ts'
import {
  createThreadExecutor,
  TaskMemoryLimitError,
  type ThreadExecutor,
} from '../../src/worker/thread-pool.ts'
import { hog, refuse, small, spin, steps, waitForAbort } from './fixtures/thread-tasks.ts'

function attempt() {
  const controller = new AbortController()
  const progress: Array<[number, string | undefined]> = []
  let onProgress: () => void = () => {}
  const firstProgress = new Promise<void>((resolve) => {
    onProgress = resolve
  })
  const ctx: TaskContext = {
    taskId: randomUUID(),
    attempt: 1,
    signal: controller.signal,
    async progress(percent, step) {
      progress.push([percent, step])
      onProgress()
    },
    log: createLogger('silent'),
  }
  return { ctx, controller, progress, firstProgress }
}

describe('thread executor', () => {
  const executors: ThreadExecutor[] = []
  const make = (threads: number, abortGraceMs?: number) => {
    const ex = createThreadExecutor({
      threads,
      log: createLogger('silent'),
      ...(abortGraceMs ? { abortGraceMs } : {}),
    })
    executors.push(ex)
    return ex
  }
  afterAll(async () => {
    await Promise.all(executors.map((e) => e.close()))
  })

  it('runs the task off the main thread and forwards every progress report before settling', async () => {
    const ex = make(1)
    const a = attempt()
    const result = (await ex.execute(steps, { n: 4 }, a.ctx)) as { threadId: number }
    expect(result.threadId).toBeGreaterThan(0)
    expect(a.progress).toEqual([
      [25, 'step 1/4'],
      [50, 'step 2/4'],
      [75, 'step 3/4'],
      [100, 'step 4/4'],
    ])
  })

  it('aborts the thread signal when the attempt is cancelled', async () => {
    const ex = make(1)
    const a = attempt()
    const run = ex.execute(waitForAbort, {}, a.ctx)
    await a.firstProgress
    a.controller.abort(new Error('task cancelled'))
    await expect(run).rejects.toThrow('thread saw abort: Error: task cancelled')
    expect(ex.running).toBe(0)
  })

  it('terminates a thread that ignores its timed-out signal, and the pool carries on', async () => {
    const ex = make(1, 100)
    const a = attempt()
    const run = ex.execute(spin, {}, a.ctx)
    await a.firstProgress
    a.controller.abort(new TaskTimeoutError(50))
    // `spin` without `ms` never returns: the attempt settling at all shows the thread was terminated.
    await expect(run).rejects.toBeInstanceOf(TaskTimeoutError)
    // The only thread was terminated and replaced: the next task still runs.
    const next = attempt()
    await expect(ex.execute(spin, { ms: 1 }, next.ctx)).resolves.toMatchObject({ x: true })
  })

  it('fails a task that exceeds memoryLimitMb with a clear error; its pool keeps serving', async () => {
    const ex = make(1)
    const err = await ex.execute(hog, {}, attempt().ctx).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(TaskMemoryLimitError)
    expect((err as Error).message).toMatch(/task 'hog' exceeded its memory limit of 32 MB/)
    await expect(ex.execute(small, {}, attempt().ctx)).resolves.toMatchObject({
      threadId: expect.any(Number),
    })
  })

  it('keeps NonRetryableError, and refuses a module that does not export the task', async () => {
    const ex = make(1)
    await expect(ex.execute(refuse, {}, attempt().ctx)).rejects.toBeInstanceOf(NonRetryableError)
    const stray = defineTask({ name: 'stray', mode: 'thread', module: steps.module!, run: () => 1 })
    await expect(ex.execute(stray, {}, attempt().ctx)).rejects.toThrow(/exports no task named 'stray'/)
  })

  it('answers HTTP while CPU-bound tasks saturate the pool', async () => {
    const ex = make(2, 100)
    const app = new Hono().get('/ping', (c) => c.json({ pong: true }))
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' })
    await new Promise((r) => server.once('listening', r))
    const { port } = server.address() as AddressInfo
    const ping = async () => {
      const t0 = performance.now()
      const res = await fetch(`http://127.0.0.1:${port}/ping`)
      expect(await res.json()).toEqual({ pong: true })
      return performance.now() - t0
    }
    const attempts = Array.from({ length: 4 }, () => attempt())
    let runs: Promise<unknown>[] = []
    let settled = 0
    try {
      await ping()
      // Tasks that spin for a minute unless stopped: pings answered while none of them has settled
      // show the event loop never waited on one. How fast the pings were is printed, not asserted (a
      // loaded machine makes them slow without anything being wrong).
      runs = attempts.map((a) =>
        ex.execute(spin, { ms: 60_000 }, a.ctx).finally(() => {
          settled++
        }),
      )
      await Promise.all(attempts.slice(0, 2).map((a) => a.firstProgress))
      const timings: number[] = []
      for (let i = 0; i < 7; i++) timings.push(await ping())
      // Both threads were busy (and two more tasks waiting) for the whole time, none finished.
      expect(ex.running).toBe(2)
      expect(settled).toBe(0)
      console.info(`pings while the pool spins: ${timings.map((t) => t.toFixed(1)).join(', ')} ms`)
    } finally {
      for (const a of attempts) a.controller.abort(new Error('test over'))
      await Promise.allSettled(runs)
      await new Promise((r) => server.close(r))
    }
  })
})
