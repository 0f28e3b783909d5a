import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import type { Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'

// A worker leases ahead of its free slots (prefetch) and holds the extra jobs in a local buffer. In
// pg-boss's terms those jobs are claimed (`active`), but their handlers have not started: tasklane
// reads them as `queued` everywhere (getTask, listTasks, stats), and as `running` once they start.

interface Gate {
  started: Promise<number>
  markStarted(attempt: number): void
  open(): void
  opened: Promise<void>
}

function gate(): Gate {
  let markStarted!: (attempt: number) => void
  let open!: () => void
  const started = new Promise<number>((r) => {
    markStarted = r
  })
  const opened = new Promise<void>((r) => {
    open = r
  })
  return { started, markStarted, open, opened }
}

const gates = new Map<string, Gate>()
const gateFor = (label: string) => {
  const known = gates.get(label)
  if (known) return known
  const g = gate()
  gates.set(label, g)
  return g
}

const held = defineTask({
  name: 'held',
  queue: 'held',
  async run(args: { label: string }, ctx) {
    const g = gateFor(args.label)
    g.markStarted(ctx.attempt)
    await g.opened
    return args.label
  },
})

const attemptsSeen: number[] = []
const flaky = defineTask({
  name: 'flaky',
  queue: 'held',
  retry: { limit: 2, delay: 0 },
  async run(_args: Record<string, never>, ctx) {
    attemptsSeen.push(ctx.attempt)
    if (ctx.attempt === 1) throw new Error('first attempt fails')
    return ctx.attempt
  },
})

describe('a leased task waiting in the local buffer', () => {
  let db: TestDatabase
  let producer: Tasklane
  let worker: Tasklane | undefined

  beforeAll(async () => {
    db = await createTestDatabase()
    producer = await startTasklane(db.url, [held, flaky], { workers: 0 })
  })
  afterAll(async () => {
    for (const g of gates.values()) g.open()
    await worker?.stop()
    await producer?.stop()
    await db?.drop()
  })

  const claim = async (taskId: string) =>
    (
      await db.query<{ state: string; started: boolean }>(
        'select state, started_on is not null as started from pgboss.job where id = $1',
        [taskId],
      )
    ).rows[0]
  const ids = (page: { items: { taskId: string }[] }) => page.items.map((t) => t.taskId).sort()

  it('reads queued in getTask, listTasks and stats while another task runs, then running once its handler starts', async () => {
    const [a, b, c] = await producer.addTasks(held, [{ label: 'a' }, { label: 'b' }, { label: 'c' }])
    // One slot, four leased ahead: the first lease takes all three, starts `a`, buffers `b` and `c`.
    worker = await startTasklane(db.url, [held, flaky], {
      queues: { held: { concurrency: 1, prefetch: 4 } },
      supervise: false,
    })
    // The worker's one slot must come free for the next test even when an assertion here fails.
    onTestFinished(() => {
      for (const label of ['a', 'b', 'c']) gateFor(label).open()
    })
    await gateFor('a').started
    // They are claimed: pg-boss says active, and no handler started.
    expect(await claim(b!.taskId)).toEqual({ state: 'active', started: false })
    expect(await claim(c!.taskId)).toEqual({ state: 'active', started: false })

    expect(await producer.getTask(a!.taskId)).toMatchObject({ status: 'running', attempts: 1 })
    const buffered = await producer.getTask(b!.taskId)
    expect(buffered).toMatchObject({ status: 'queued', attempts: 0, startedAt: null })
    expect(buffered?.position).toBe(0)
    expect((await producer.getTask(c!.taskId))?.position).toBe(1)
    expect(ids(await producer.listTasks({ status: 'queued', queue: 'held' }))).toEqual(
      [b!.taskId, c!.taskId].sort(),
    )
    expect(ids(await producer.listTasks({ status: 'running', queue: 'held' }))).toEqual([a!.taskId])
    const stats = await producer.getTaskStats()
    expect(stats).toMatchObject({ totalQueued: 2, normalQueueSize: 2 })

    gateFor('a').open()
    expect(await gateFor('b').started).toBe(1)
    // Its start is written a few milliseconds after the handler starts; the `running` event follows
    // that write, so from the event on every reader agrees.
    for await (const ev of producer.events({ taskId: b!.taskId })) {
      if (ev.type === 'status' && ev.status === 'running') break
    }
    const running = await producer.getTask(b!.taskId)
    expect(running).toMatchObject({ status: 'running', attempts: 1 })
    expect(running?.startedAt).not.toBeNull()
    expect(await claim(b!.taskId)).toEqual({ state: 'active', started: true })
    // `a` ended before `b` started, but it reads `running` until its completion commits (the settle
    // is batched, and on a loaded machine may commit after `b`'s start): waited for, not raced.
    expect(await producer.waitFor(a!.taskId, { timeout: '30s' })).toMatchObject({ status: 'completed' })
    expect(ids(await producer.listTasks({ status: 'running', queue: 'held' }))).toEqual([b!.taskId])
    expect(ids(await producer.listTasks({ status: 'queued', queue: 'held' }))).toEqual([c!.taskId])
    expect((await producer.getTaskStats()).totalQueued).toBe(1)

    gateFor('b').open()
    gateFor('c').open()
    const done = await Promise.all([a, b, c].map((t) => producer.waitFor(t!.taskId, { timeout: '30s' })))
    expect(done.map((t) => [t.status, t.attempts])).toEqual([
      ['completed', 1],
      ['completed', 1],
      ['completed', 1],
    ])
  })

  it('spends an attempt when a task started from the buffer fails before its start was written', async () => {
    // One transaction, so one lease takes both: `d` holds the only slot and `flaky` waits in the
    // buffer, starts when `d` ends and fails at once. The failure writes its start first, so the
    // retry is attempt 2, not attempt 1 again.
    const client = new pg.Client({ connectionString: db.url })
    await client.connect()
    let d: string
    let f: string
    try {
      await client.query('begin')
      d = (await producer.addTask(held, { label: 'd' }, { db: client })).taskId
      f = (await producer.addTask(flaky, {}, { db: client })).taskId
      await client.query('commit')
    } finally {
      await client.end()
    }
    await gateFor('d').started
    expect(await claim(f)).toEqual({ state: 'active', started: false })
    gateFor('d').open()
    const info = await producer.waitFor(f, { timeout: '30s' })
    expect(info).toMatchObject({ status: 'completed', attempts: 2, result: 2 })
    expect(attemptsSeen).toEqual([1, 2])
    await producer.waitFor(d, { timeout: '30s' })
  })
})
