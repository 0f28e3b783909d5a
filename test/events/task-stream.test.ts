import v8 from 'node:v8'
import vm from 'node:vm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { StatusEvent, TaskChangeEvent } from '../../src/events/event-types.ts'
import { eventsChannel } from '../../src/events/events-channel.ts'
import { encodeMessages } from '../../src/events/notify.repository.ts'
import type { TaskStream } from '../../src/events/task-stream.ts'
import { engineOf } from '../../src/internal.ts'
import type { Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'

// Heap figures compare only after a collection; this exposes gc() without a command-line flag.
v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc') as () => void
const heapUsed = () => {
  gc()
  return v8.getHeapStatistics().used_heap_size
}

const EVENTS = 100_000
const BUFFER = 1_000
/**
 * Heap growth allowed while 100,000 events reach a consumer that reads none: 20 bytes an event.
 * Holding them all costs far more (measured with a buffer too large to fill: 14.6 MB, 146 bytes an
 * event); the bounded stream grew by 0.05 to 0.1 MB.
 */
const HEAP_GROWTH_LIMIT = EVENTS * 20

const echo = defineTask({
  name: 'echo',
  async run() {
    return 'done'
  },
})

function statusEvent(taskId: string, attempt: number): StatusEvent {
  return {
    type: 'status',
    taskId,
    task: 'echo',
    queue: 'default',
    status: 'running',
    attempt,
    at: new Date().toISOString(),
  }
}

describe('one bounded task stream (events(), waitFor, SSE)', () => {
  let db: TestDatabase
  let tasks: Tasklane

  beforeAll(async () => {
    db = await createTestDatabase()
    tasks = await startTasklane(db.url, [echo], { workers: 0 })
    // Once through every path the measured runs take (pg's buffers, compiled code), heard by no stream.
    const warm = Array.from({ length: 10_000 }, (_, i) => statusEvent(crypto.randomUUID(), i + 1))
    const heard = new Promise<void>((resolve) => {
      let seen = 0
      const off = engineOf(tasks).bus.onMessage(() => {
        if (++seen < warm.length) return
        off()
        resolve()
      })
    })
    await publish(warm)
    await heard
  })
  afterAll(async () => {
    await tasks?.stop()
    await db?.drop()
  })

  /**
   * NOTIFYs `events` on the app's channel, the way workers do (status events packed into batches), in
   * statements of at most 10,000 events: the client keeps its write buffer as large as the largest
   * statement it sent, which is no part of what the streams hold.
   */
  async function publish(events: TaskChangeEvent[]): Promise<void> {
    for (let i = 0; i < events.length; i += 10_000) {
      await db.query('select pg_notify($1, p) from unnest($2::text[]) p', [
        eventsChannel(tasks.config.schema),
        encodeMessages(events.slice(i, i + 10_000)),
      ])
    }
  }

  /**
   * Resolves once this process's event bus has dispatched `count` more events (to `stream` first: it
   * subscribed earlier), recording the most events the stream held at any moment.
   */
  function delivered(stream: TaskStream, count: number) {
    let seen = 0
    let maxBuffered = 0
    let off = () => {}
    const all = new Promise<void>((resolve) => {
      off = engineOf(tasks).bus.onMessage(() => {
        maxBuffered = Math.max(maxBuffered, stream.buffered)
        if (++seen === count) resolve()
      })
    })
    return all.finally(() => off()).then(() => maxBuffered)
  }

  it(`holds at most ${BUFFER} of ${EVENTS} events for a task's consumer that does not read; then: lagged, the current state`, async () => {
    const { taskId } = await tasks.addTask(echo, {}, { delay: '1h' })
    const before = heapUsed()
    const stream = tasks.events({ taskId }, { bufferSize: BUFFER })
    const all = delivered(stream, EVENTS)
    // Events the task never had (running, 100,000 attempts): what follows the lag must come from a read.
    await publish(Array.from({ length: EVENTS }, (_, i) => statusEvent(taskId, i + 1)))
    const maxBuffered = await all
    const growth = heapUsed() - before

    expect(maxBuffered).toBeLessThanOrEqual(BUFFER)
    expect(stream.buffered).toBeLessThanOrEqual(BUFFER)
    expect(growth).toBeLessThan(HEAP_GROWTH_LIMIT)
    expect((await stream.next()).value).toEqual({
      type: 'lagged',
      dropped: EVENTS,
      complete: true,
      taskId,
      at: expect.any(String),
    })
    expect((await stream.next()).value).toMatchObject({ type: 'status', taskId, status: 'scheduled' })
    // Live again after the snapshot: the task's next change, then the end after its final status.
    await tasks.cancel(taskId)
    expect((await stream.next()).value).toMatchObject({ type: 'status', taskId, status: 'cancelled' })
    expect(await stream.next()).toEqual({ done: true, value: undefined })
    expect(stream.open).toBe(false)
  })

  it(`holds at most ${BUFFER} of ${EVENTS} events for an all-tasks consumer that does not read; then: lagged, each task's latest state`, async () => {
    const ids = Array.from({ length: 50 }, () => crypto.randomUUID())
    const before = heapUsed()
    const stream = tasks.events({ task: 'echo' }, { bufferSize: BUFFER })
    const all = delivered(stream, EVENTS)
    await publish(Array.from({ length: EVENTS }, (_, i) => statusEvent(ids[i % ids.length]!, i + 1)))
    const maxBuffered = await all
    const growth = heapUsed() - before

    expect(maxBuffered).toBeLessThanOrEqual(BUFFER)
    expect(growth).toBeLessThan(HEAP_GROWTH_LIMIT)
    expect((await stream.next()).value).toEqual({
      type: 'lagged',
      dropped: EVENTS - ids.length,
      complete: true,
      at: expect.any(String),
    })
    // The snapshot: every task's latest status, in the order of their last change.
    const snapshot = []
    for (let i = 0; i < ids.length; i++) snapshot.push((await stream.next()).value)
    expect(snapshot).toEqual(
      ids.map((taskId, i) =>
        expect.objectContaining({ type: 'status', taskId, attempt: EVENTS - ids.length + i + 1 }),
      ),
    )
    // Then live events again, filtered as before.
    await publish([{ ...statusEvent(ids[0]!, 1), task: 'other' }, statusEvent(ids[1]!, 7)])
    expect((await stream.next()).value).toMatchObject({ taskId: ids[1], attempt: 7 })
    await stream.return()
    expect(stream.open).toBe(false)
  })

  it('a task stream starts with the current state and re-reads it when no notification comes', async () => {
    const { taskId } = await tasks.addTask(echo, {}, { delay: '1h' })
    const stream = tasks.events({ taskId }, { recheckInterval: '20ms' })
    expect((await stream.next()).value).toMatchObject({ type: 'status', status: 'scheduled' })
    // Due now, without any NOTIFY (nothing announces a delay running out): only a re-read can tell.
    await db.query('update pgboss.job set start_after = now() where id = $1', [taskId])
    expect((await stream.next()).value).toMatchObject({ type: 'status', taskId, status: 'queued' })
    await stream.return()
  })

  it('waitFor times out naming the status, and resolves with the TaskInfo of a finished task', async () => {
    const { taskId } = await tasks.addTask(echo, {}, { delay: '1h' })
    await expect(tasks.waitFor(taskId, { timeout: '50ms' })).rejects.toMatchObject({
      code: 'timeout',
      message: expect.stringMatching(/still scheduled after 50 ms/),
    })
    const waiting = tasks.waitFor(taskId)
    await tasks.cancel(taskId)
    await expect(waiting).resolves.toMatchObject({ taskId, status: 'cancelled' })
    await expect(tasks.waitFor(taskId)).resolves.toMatchObject({ taskId, status: 'cancelled' })
    await expect(tasks.waitFor('00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({
      code: 'not_found',
    })
  })

  it('refuses a buffer size or re-read interval that cannot work', () => {
    expect(() => tasks.events({}, { bufferSize: 0 })).toThrow(/bufferSize must be an integer >= 1/)
    expect(() => tasks.events({ taskId: crypto.randomUUID() }, { recheckInterval: 0 })).toThrow(
      /recheckInterval must be at least 1 ms/,
    )
  })
})
