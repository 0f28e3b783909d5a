import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventsChannel } from '../../src/events/events-channel.ts'
import { encodeMessages } from '../../src/events/notify.repository.ts'
import { tasklaneRoutes } from '../../src/http/routes.ts'
import { engineOf } from '../../src/internal.ts'
import type { Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'
import { call } from './helpers/call.ts'
import { SseReader } from './helpers/sse-reader.ts'
import { waitUntil } from './helpers/wait-until.ts'

/** Gates the steps of a running task from the test, so each progress report is awaited, not timed. */
const gates = new Map<string, Array<() => void>>()
function gate(taskId: string): Promise<void> {
  return new Promise((resolve) => gates.set(taskId, [...(gates.get(taskId) ?? []), resolve]))
}
function open(taskId: string): boolean {
  const waiting = gates.get(taskId)?.shift()
  waiting?.()
  return waiting !== undefined
}

const stepper = defineTask({
  name: 'stepper',
  retry: { limit: 0 },
  async run(args: { fail?: boolean }, ctx) {
    await ctx.progress(10, 'fetching')
    await gate(ctx.taskId)
    await ctx.progress(60, 'crunching')
    await gate(ctx.taskId)
    if (args.fail) throw new Error('crunch failed')
    return { rows: 42 }
  },
})
const quick = defineTask({
  name: 'quick',
  async run() {
    return 'done'
  },
})

describe('Server-Sent Events', () => {
  let db: TestDatabase
  let tasks: Tasklane
  let app: ReturnType<typeof tasklaneRoutes>

  beforeAll(async () => {
    db = await createTestDatabase()
    tasks = await startTasklane(db.url, [stepper, quick], { workers: 2 })
    app = tasklaneRoutes(tasks, { heartbeatMs: 100 })
  })
  afterAll(async () => {
    for (const id of gates.keys()) while (open(id));
    await tasks?.stop({ timeout: '1s' })
    await db?.drop()
  })

  const stream = async (path: string) => {
    const res = await app.request(path)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('text/event-stream')
    return new SseReader(res)
  }

  it("streams a task's progress, its final state as `result`, then ends", async () => {
    const { taskId } = await tasks.addTask(stepper, {})
    const sse = await stream(`/tasks/${taskId}/events`)
    const first = await sse.nextEvent()
    expect(first).toMatchObject({ event: 'status', json: { taskId, task: 'stepper' } })
    const early = await sse.until((e) => e.event === 'progress' && e.json.percent === 10)
    expect(early.at(-1)!.json).toMatchObject({ type: 'progress', taskId, percent: 10, step: 'fetching' })
    await waitUntil(() => open(taskId), { what: 'the task to reach its first gate' })
    const mid = await sse.until((e) => e.event === 'progress' && e.json.percent === 60)
    expect(mid.at(-1)!.json.step).toBe('crunching')
    await waitUntil(() => open(taskId), { what: 'the second gate' })
    const rest = await sse.until((e) => e.event === 'result')
    expect(rest.map((e) => e.event)).toEqual(['status', 'result'])
    expect(rest[0]!.json.status).toBe('completed')
    expect(rest[1]!.json).toMatchObject({ taskId, status: 'completed', result: { rows: 42 } })
    expect(await sse.next()).toBeNull()
  })

  it('ends a failed task with an `error` event carrying the TaskInfo', async () => {
    const { taskId } = await tasks.addTask(stepper, { fail: true })
    const sse = await stream(`/tasks/${taskId}/events`)
    await waitUntil(() => open(taskId), { what: 'the first gate' })
    await waitUntil(() => open(taskId), { what: 'the second gate' })
    const events = await sse.until((e) => e.event === 'error')
    expect(events.at(-1)!.json).toMatchObject({
      taskId,
      status: 'failed',
      error: { message: 'crunch failed' },
    })
    expect(await sse.next()).toBeNull()
  })

  it('for a task already finished: its final status and result, then the end', async () => {
    const { taskId } = await tasks.addTask(quick, {})
    await tasks.waitFor(taskId)
    const sse = await stream(`/tasks/${taskId}/events`)
    const events = await sse.until(() => false)
    expect(events.map((e) => [e.event, e.json.status])).toEqual([
      ['status', 'completed'],
      ['result', 'completed'],
    ])
    expect(events[1]!.json.result).toBe('done')
  })

  it('answers 404 before streaming for an unknown or malformed id, leaving no listener', async () => {
    const baseline = engineOf(tasks).bus.listenerCount
    for (const id of ['00000000-0000-4000-8000-000000000000', 'nope']) {
      const res = await call(app, 'GET', `/tasks/${id}/events`)
      expect(res.status).toBe(404)
      expect(res.json.error.code).toBe('not_found')
    }
    expect(engineOf(tasks).bus.listenerCount).toBe(baseline)
  })

  it('sends heartbeat comments while nothing happens', async () => {
    const { taskId } = await tasks.addTask(stepper, {})
    const sse = await stream(`/tasks/${taskId}/events`)
    let m = await sse.next()
    while (m && !('comment' in m)) m = await sse.next()
    expect(m).toEqual({ comment: 'heartbeat' })
    await sse.close()
    await waitUntil(() => open(taskId))
    await waitUntil(() => open(taskId))
    await tasks.waitFor(taskId)
  })

  it.each([
    ['a task stream', true],
    ['the all-events stream', false],
  ])('removes the bus listeners of %s when the client disconnects', async (_what, perTask) => {
    const { taskId } = await tasks.addTask(stepper, {})
    const baseline = engineOf(tasks).bus.listenerCount
    const sse = await stream(perTask ? `/tasks/${taskId}/events` : '/events')
    await sse.next()
    expect(engineOf(tasks).bus.listenerCount).toBe(baseline + 2)
    await sse.close()
    await waitUntil(() => engineOf(tasks).bus.listenerCount === baseline, {
      what: 'the listeners to be removed',
    })
    await waitUntil(() => open(taskId))
    await waitUntil(() => open(taskId))
    await tasks.waitFor(taskId)
  })

  it('tells a client that stopped reading that it lagged, then sends the current status', async () => {
    const { taskId } = await tasks.addTask(quick, {}, { delay: '1h' })
    const sse = await stream(`/tasks/${taskId}/events`)
    expect(await sse.nextEvent()).toMatchObject({ event: 'status', json: { status: 'scheduled' } })
    // 5,000 events (the stream holds 1,000) while the client reads nothing; they never happened.
    const count = 5_000
    const heard = new Promise<void>((resolve) => {
      let seen = 0
      const off = engineOf(tasks).bus.onMessage(() => {
        if (++seen < count) return
        off()
        resolve()
      })
    })
    const events = Array.from({ length: count }, (_, i) => ({
      type: 'status' as const,
      taskId,
      task: 'quick',
      queue: 'default',
      status: 'running' as const,
      attempt: i + 1,
      at: new Date().toISOString(),
    }))
    await db.query('select pg_notify($1, p) from unnest($2::text[]) p', [
      eventsChannel(tasks.config.schema),
      encodeMessages(events),
    ])
    await heard
    // Every event is either delivered or counted in a `lagged`. The route may have written some before
    // the socket filled, and on a loaded machine it can lag more than once (each `lagged` counts the
    // events dropped since the one before), so count them all rather than expect a single lag.
    let delivered = 0
    let dropped = 0
    let lags = 0
    let lastStatus = 'scheduled'
    while (delivered + dropped < count) {
      const e = await sse.nextEvent()
      if (!e) throw new Error(`the stream ended after ${delivered} delivered and ${dropped} dropped events`)
      if (e.event === 'lagged') {
        expect(e.json).toMatchObject({ type: 'lagged', taskId, complete: true })
        lags++
        dropped += e.json.dropped
      } else if (e.event === 'status') {
        lastStatus = e.json.status
        if (e.json.status === 'running') delivered++
      }
    }
    expect(delivered + dropped).toBe(count)
    expect(lags).toBeGreaterThan(0)
    // Then the current state, read from the database (the 5,000 never happened), unless the client's
    // last status already is it.
    if (lastStatus !== 'scheduled') {
      expect(await sse.nextEvent()).toMatchObject({ event: 'status', json: { taskId, status: 'scheduled' } })
    }
    await sse.close()
    await tasks.cancel(taskId)
  })

  it('GET /events streams every task event, filtered by task name', async () => {
    const sse = await stream('/events?task=quick')
    expect(await sse.next()).toEqual({ comment: 'connected' })
    const { taskId: stepperId } = await tasks.addTask(stepper, {})
    const { taskId } = await tasks.addTask(quick, {})
    const events = await sse.until(
      (e) => e.event === 'status' && e.json.taskId === taskId && e.json.status === 'completed',
    )
    // Only 'quick' tasks: the stepper's events never reach this stream. (Another quick task's late
    // event can: the previous test cancels one, whose NOTIFY may arrive after this stream opened.)
    expect(new Set(events.map((e) => e.json.task))).toEqual(new Set(['quick']))
    expect(events.some((e) => e.json.taskId === stepperId)).toBe(false)
    await sse.close()
    await waitUntil(() => open(stepperId))
    await waitUntil(() => open(stepperId))
    await tasks.waitFor(stepperId)
  })
})
