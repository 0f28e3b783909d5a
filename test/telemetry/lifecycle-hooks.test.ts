import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.ts'
import { NonRetryableError } from '../../src/errors.ts'
import { createLogger } from '../../src/logger.ts'
import { createTasklane, type Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import type { TasklaneHookEvents, TasklaneHookName } from '../../src/telemetry/lifecycle-hooks.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'

const hookOk = defineTask({
  name: 'hook-ok',
  async run(_args: Record<string, never>, ctx) {
    await ctx.progress(50, 'half way')
    return { ok: true }
  },
})
const hookFlaky = defineTask({
  name: 'hook-flaky',
  retry: { limit: 2, delay: 0 },
  async run(_args: Record<string, never>, ctx) {
    if (ctx.attempt === 1) throw new Error('flaky upstream')
    return { attempt: ctx.attempt }
  },
})
const hookDoomed = defineTask({
  name: 'hook-doomed',
  retry: { limit: 3, delay: 0 },
  async run() {
    throw new NonRetryableError('bad input, never retry')
  },
})

/** Returns a result a trigger (below) refuses, as a constraint or size limit would. */
const hookRefused = defineTask({
  name: 'hook-refused',
  run: () => ({ poison: true }),
})

type Recorded = { [K in TasklaneHookName]: { name: K; event: TasklaneHookEvents[K] } }[TasklaneHookName]

describe('lifecycle hooks (tasks.on), no OpenTelemetry SDK registered', () => {
  let db: TestDatabase
  let tasks: Tasklane
  const seen: Recorded[] = []
  const waiters = new Set<() => void>()
  const logLines: Record<string, unknown>[] = []

  /** Resolves with the events of `name` for `taskId` once there are `count` of them. */
  function eventsOf<K extends TasklaneHookName>(name: K, taskId: string | null, count = 1) {
    const matching = () =>
      seen
        .filter(
          (r) => r.name === name && (taskId === null || (r.event as { taskId?: string }).taskId === taskId),
        )
        .map((r) => r.event as TasklaneHookEvents[K])
    return new Promise<TasklaneHookEvents[K][]>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no ${count} × ${name} for ${taskId} within 30 s`)),
        30_000,
      )
      const check = () => {
        const found = matching()
        if (found.length < count) return
        clearTimeout(timer)
        waiters.delete(check)
        resolve(found)
      }
      waiters.add(check)
      check()
    })
  }

  beforeAll(async () => {
    db = await createTestDatabase()
    await db.query(`
      create function public.refuse_poison() returns trigger language plpgsql as $$
      begin
        if new.result ? 'poison' then raise exception 'result refused by policy'; end if;
        return new;
      end $$;
      create trigger refuse_poison before insert on tasklane.task_history
        for each row execute function public.refuse_poison();`)
    const config = loadConfig({ DATABASE_URL: db.url, LOG_LEVEL: 'warn' })
    const sink = new Writable({
      write(chunk, _enc, done) {
        for (const line of String(chunk).split('\n')) if (line) logLines.push(JSON.parse(line))
        done()
      },
    })
    tasks = createTasklane({
      config,
      tasks: [hookOk, hookFlaky, hookDoomed, hookRefused],
      workers: 2,
      migrate: false,
      poolSize: 4,
      logger: createLogger('warn', sink),
    })
    const names: TasklaneHookName[] = [
      'task:enqueued',
      'task:start',
      'task:progress',
      'task:success',
      'task:failure',
      'task:retry',
      'worker:start',
      'worker:stop',
    ]
    for (const name of names) {
      tasks.on(name, (event) => {
        seen.push({ name, event } as Recorded)
        for (const w of waiters) w()
      })
    }
    // Listeners that fail, synchronously and asynchronously: tasks must not notice.
    tasks.on('task:start', () => {
      throw new Error('listener bug (sync)')
    })
    tasks.on('task:success', async () => {
      throw new Error('listener bug (async)')
    })
    await tasks.start()
  })
  afterAll(async () => {
    await tasks?.stop()
    await db?.drop()
  })

  it('worker:start names the queues and their concurrency', async () => {
    const [start] = await eventsOf('worker:start', null)
    expect(start).toEqual({ workerId: tasks.workerId, queues: { default: 2 } })
  })

  it('enqueued → start → progress → success, with queue time and duration; failing listeners are only logged', async () => {
    const { taskId } = await tasks.addTask(hookOk, {}, { priority: 'high' })
    expect((await tasks.waitFor(taskId)).status).toBe('completed')
    const [enqueued] = await eventsOf('task:enqueued', taskId)
    expect(enqueued).toEqual({
      taskId,
      task: 'hook-ok',
      queue: 'default',
      priority: 'HIGH',
      status: 'queued',
      deduplicated: false,
    })
    const [start] = await eventsOf('task:start', taskId)
    expect(start).toMatchObject({
      taskId,
      task: 'hook-ok',
      queue: 'default',
      priority: 'HIGH',
      attempt: 1,
      maxAttempts: 3,
      workerId: tasks.workerId,
    })
    expect(start!.queueTimeMs).toBeGreaterThanOrEqual(0)
    const [progress] = await eventsOf('task:progress', taskId)
    expect(progress).toMatchObject({ taskId, attempt: 1, percent: 50, step: 'half way' })
    const [success] = await eventsOf('task:success', taskId)
    expect(success).toMatchObject({ taskId, attempt: 1, result: { ok: true }, startedAt: start!.startedAt })
    expect(success!.durationMs).toBe(success!.finishedAt.getTime() - success!.startedAt.getTime())
    expect(success!.durationMs).toBeGreaterThanOrEqual(0)
    expect(seen.filter((r) => r.name === 'task:failure' || r.name === 'task:retry')).toEqual([])
    const warnings = logLines.filter(
      (l) => l.msg === 'a tasklane event listener failed; the task is not affected',
    )
    expect(warnings.map((l) => l.event)).toEqual(expect.arrayContaining(['task:start', 'task:success']))
  })

  it('a failed attempt that will run again is task:retry; the next attempt succeeds', async () => {
    const { taskId } = await tasks.addTask(hookFlaky, {})
    expect(await tasks.waitFor(taskId)).toMatchObject({ status: 'completed', attempts: 2 })
    const [retry] = await eventsOf('task:retry', taskId)
    expect(retry).toMatchObject({
      taskId,
      attempt: 1,
      outcome: 'failed',
      error: { type: 'Error', message: 'flaky upstream', retryable: true },
    })
    const starts = await eventsOf('task:start', taskId, 2)
    expect(starts.map((s) => s.attempt)).toEqual([1, 2])
    const [success] = await eventsOf('task:success', taskId)
    expect(success).toMatchObject({ attempt: 2, result: { attempt: 2 } })
    expect(seen.some((r) => r.name === 'task:failure' && r.event.taskId === taskId)).toBe(false)
  })

  it('a final failure is task:failure, with no task:retry', async () => {
    const { taskId } = await tasks.addTask(hookDoomed, {})
    expect((await tasks.waitFor(taskId)).status).toBe('failed')
    const [failure] = await eventsOf('task:failure', taskId)
    expect(failure).toMatchObject({
      taskId,
      attempt: 1,
      maxAttempts: 4,
      outcome: 'failed',
      error: { type: 'NonRetryableError', message: 'bad input, never retry', retryable: false },
    })
    expect(seen.some((r) => r.name === 'task:retry' && r.event.taskId === taskId)).toBe(false)
  })

  it('a result the database refuses is a task:failure naming why, not a task:success', async () => {
    const { taskId } = await tasks.addTask(hookRefused, {})
    expect((await tasks.waitFor(taskId)).status).toBe('failed')
    const [failure] = await eventsOf('task:failure', taskId)
    expect(failure).toMatchObject({
      taskId,
      attempt: 1,
      outcome: 'failed',
      error: { type: 'OutcomeNotStored', retryable: false },
    })
    expect(failure!.error.message).toMatch(/result could not be stored: result refused by policy/)
    expect(seen.some((r) => r.name === 'task:success' && r.event.taskId === taskId)).toBe(false)
  })

  it('task:enqueued reports a deduplicated enqueue as such', async () => {
    const first = await tasks.addTask(hookOk, {}, { idempotencyKey: 'hooks-dedupe' })
    const again = await tasks.addTask(hookOk, {}, { idempotencyKey: 'hooks-dedupe' })
    expect(again).toMatchObject({ taskId: first.taskId, deduplicated: true })
    const enqueued = await eventsOf('task:enqueued', first.taskId, 2)
    expect(enqueued.map((e) => e.deduplicated)).toEqual([false, true])
    await tasks.waitFor(first.taskId)
  })

  it('stores no trace context in the job when no SDK is registered', async () => {
    const { taskId } = await tasks.addTask(hookOk, {})
    await tasks.waitFor(taskId)
    const { rows } = await db.query(`select data from ${tasks.config.bossSchema}.job where id = $1`, [taskId])
    expect(rows).toHaveLength(1)
    expect(Object.keys(rows[0].data).sort()).toEqual(['args', 'task'])
  })

  it('refuses an unknown event name, naming the valid ones', () => {
    expect(() => tasks.on('task:done' as TasklaneHookName, () => {})).toThrow(
      /unknown tasklane event "task:done": use one of task:enqueued, task:start/,
    )
  })

  it('an unsubscribed listener is not called again', async () => {
    let calls = 0
    const off = tasks.on('task:enqueued', () => {
      calls++
    })
    await tasks.addTask(hookOk, {})
    off()
    const { taskId } = await tasks.addTask(hookOk, {})
    expect(calls).toBe(1)
    await tasks.waitFor(taskId)
  })

  it('worker:stop fires after a graceful stop', async () => {
    await tasks.stop()
    const [stop] = await eventsOf('worker:stop', null)
    expect(stop!.workerId).toBe(tasks.workerId)
    expect(stop!.uptimeMs).toBeGreaterThanOrEqual(0)
  })
})
