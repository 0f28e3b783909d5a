import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { engineOf } from '../../src/internal.ts'
import type { Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { listLiveWorkers } from '../../src/workers/worker-process.repository.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'

const echo = defineTask({
  name: 'echo',
  async run(args: { i: number }) {
    return args
  },
})
const other = defineTask({
  name: 'other',
  queue: 'side',
  async run() {
    return 1
  },
})
// No worker serves this queue: its tasks stay queued.
const parked = defineTask({
  name: 'parked',
  queue: 'parked',
  async run() {
    return 1
  },
})
let openGate: () => void = () => {}
const gateOpen = new Promise<void>((r) => {
  openGate = r
})
const gated = defineTask({
  name: 'gated',
  queue: 'gated',
  async run() {
    await gateOpen
  },
})

describe('getTask, listTasks, waitFor and the workers registry', () => {
  let db: TestDatabase
  let producer: Tasklane
  let worker: Tasklane

  beforeAll(async () => {
    db = await createTestDatabase()
    producer = await startTasklane(db.url, [echo, other, parked, gated], { workers: 0 })
    worker = await startTasklane(db.url, [echo, other, gated], {
      queues: {
        default: { concurrency: 3 },
        side: { concurrency: 2 },
        gated: { concurrency: 1, prefetch: 0 },
      },
      supervise: false,
    })
  })
  afterAll(async () => {
    await worker?.stop()
    await producer?.stop()
    await db?.drop()
  })

  it('returns null for unknown or malformed ids', async () => {
    expect(await producer.getTask('00000000-0000-4000-8000-000000000000')).toBeNull()
    expect(await producer.getTask('not-a-uuid')).toBeNull()
  })

  it('reports a queued task with its position in lease order', async () => {
    const a = await producer.addTask(parked, {})
    const b = await producer.addTask(parked, {})
    const urgent = await producer.addTask(parked, {}, { priority: 'HIGH' })
    const later = await producer.addTask(parked, {}, { delay: '1h' })
    const position = async (id: string) => (await producer.getTask(id))?.position
    expect(await position(urgent.taskId)).toBe(0)
    expect(await position(a.taskId)).toBe(1)
    expect(await position(b.taskId)).toBe(2)
    const scheduled = await producer.getTask(later.taskId)
    expect(scheduled?.status).toBe('scheduled')
    expect(scheduled?.position).toBeUndefined()
    // No live worker serves the queue: no estimate.
    expect((await producer.getTask(a.taskId))?.eta).toBeUndefined()
  })

  it('estimates the start of a queued task from the live workers of its queue', async () => {
    const running = await producer.addTask(gated, {})
    for await (const ev of producer.events({ taskId: running.taskId }))
      if (ev.type === 'status' && ev.status === 'running') break
    const next = await producer.addTask(gated, {})
    const info = await producer.getTask(next.taskId)
    expect(info).toMatchObject({ status: 'queued', position: 0 })
    expect(Date.parse(info!.eta!)).toBeGreaterThan(Date.now() - 60_000)
    openGate()
    await producer.waitFor(next.taskId)
  })

  it('pages through finished tasks with a cursor, newest first, without repeats', async () => {
    const done = await producer.addTasks(
      echo,
      Array.from({ length: 7 }, (_, i) => ({ i })),
    )
    await Promise.all(done.map((d) => producer.waitFor(d.taskId)))
    const seen: string[] = []
    let cursor: string | undefined
    do {
      const page = await producer.listTasks({
        status: 'completed',
        task: 'echo',
        limit: 3,
        ...(cursor ? { cursor } : {}),
      })
      expect(page.items.length).toBeLessThanOrEqual(3)
      seen.push(...page.items.map((t) => t.taskId))
      cursor = page.nextCursor ?? undefined
    } while (cursor)
    expect(new Set(seen).size).toBe(seen.length)
    expect(seen.sort()).toEqual(done.map((d) => d.taskId).sort())
  })

  it('rejects a limit out of range and a forged cursor', async () => {
    await expect(producer.listTasks({ limit: 501 })).rejects.toMatchObject({ status: 400 })
    await expect(producer.listTasks({ cursor: 'garbage' })).rejects.toMatchObject({ status: 400 })
  })

  it('times out waitFor with a clear error', async () => {
    const { taskId } = await producer.addTask(echo, { i: 9 }, { delay: '1h' })
    await expect(producer.waitFor(taskId, { timeout: '100ms' })).rejects.toThrow(
      /still scheduled after 100 ms/,
    )
  })

  it('registers each worker process with its queues and concurrency', async () => {
    const rows = await listLiveWorkers(engineOf(producer).db, 30_000)
    expect(rows).toHaveLength(1)
    expect(rows[0]).toMatchObject({ id: worker.workerId, concurrency: 6, pid: process.pid })
    expect(rows[0]!.queues).toEqual({ default: 3, side: 2, gated: 1 })
  })

  it('streams events from other instances through events()', async () => {
    const { taskId } = await producer.addTask(other, {})
    const statuses: string[] = []
    for await (const ev of producer.events({ taskId })) if (ev.type === 'status') statuses.push(ev.status)
    expect(statuses.at(-1)).toBe('completed')
  })
})

describe('events() iterator', () => {
  let db: TestDatabase
  let tasks: Tasklane

  beforeAll(async () => {
    db = await createTestDatabase()
    tasks = await startTasklane(db.url, [echo], { workers: 0 })
  })
  afterAll(async () => {
    await tasks?.stop()
    await db?.drop()
  })

  it('releases its bus listeners at once when the consumer stops waiting', async () => {
    const before = engineOf(tasks).bus.listenerCount
    const { taskId } = await tasks.addTask(echo, { i: 1 }, { delay: '1h' })
    const it = tasks.events({ taskId })
    const pending = it.next()
    expect(engineOf(tasks).bus.listenerCount).toBe(before + 2)
    await it.return(undefined)
    expect(await pending).toEqual({ done: true, value: undefined })
    expect(engineOf(tasks).bus.listenerCount).toBe(before)
  })

  it('yields the final status of a finished task, then ends', async () => {
    const { taskId } = await tasks.addTask(echo, { i: 2 }, { delay: '1h' })
    await tasks.cancel(taskId)
    const seen = []
    for await (const ev of tasks.events({ taskId })) seen.push(ev)
    expect(seen).toEqual([expect.objectContaining({ type: 'status', status: 'cancelled' })])
  })
})
