import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.ts'
import { migrateToLatest } from '../../src/db/migrate.ts'
import type { TaskEvent } from '../../src/events/event-types.ts'
import { createApp } from '../../src/http/app.ts'
import { createLogger } from '../../src/logger.ts'
import type { Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'

// Issue 14, item 1: two apps in one database that differ only in TASKLANE_SCHEMA, both running
// workers and both streaming events at once, share nothing: not tasks, events, workers, stats,
// schedules nor the migration lock.

/** The same task name in both apps, on the same (default) queue: what collided before. */
function workTask(app: string) {
  return defineTask({
    name: 'work',
    async run(args: { n: number }, ctx) {
      await ctx.progress(50, `${app} secret step ${args.n}`)
      return { app, n: args.n }
    },
  })
}

/** Collects every event an app's events() yields until stopped. */
function collect(tasks: Tasklane) {
  const events: TaskEvent[] = []
  const stream = tasks.events()
  const done = (async () => {
    for await (const ev of stream) events.push(ev)
  })()
  return {
    events,
    async stop() {
      await stream.return(undefined)
      await done
    },
  }
}

describe('two apps in one database, isolated by TASKLANE_SCHEMA alone', () => {
  let db: TestDatabase
  let a: Tasklane
  let b: Tasklane
  const taskA = workTask('a')
  const taskB = workTask('b')
  const log = createLogger('silent')

  beforeAll(async () => {
    db = await createTestDatabase()
    a = await startTasklane(db.url, [taskA], {
      env: { TASKLANE_SCHEMA: 'tl_a' },
      migrate: true,
      workers: 2,
    })
    b = await startTasklane(db.url, [taskB], {
      env: { TASKLANE_SCHEMA: 'tl_b' },
      migrate: true,
      workers: 3,
    })
  })
  afterAll(async () => {
    await a?.stop({ timeout: '1s' })
    await b?.stop({ timeout: '1s' })
    await db?.drop()
  })

  it('derives a separate pg-boss schema from each app schema', async () => {
    expect([a.config.bossSchema, b.config.bossSchema]).toEqual(['tl_a_boss', 'tl_b_boss'])
    const { rows } = await db.query<{ nspname: string }>(
      `select nspname from pg_namespace where nspname like 'tl\\_%' order by 1`,
    )
    expect(rows.map((r) => r.nspname)).toEqual(['tl_a', 'tl_a_boss', 'tl_b', 'tl_b_boss'])
  })

  it('runs, reads, lists, streams and counts only its own tasks', async () => {
    const streamA = collect(a)
    const streamB = collect(b)
    const sseB = await createApp({ tasks: b }).request('/events')
    expect(sseB.status).toBe(200)
    const sseText = readAll(sseB)

    // A's tasks run to completion first; B's stream would have received A's events before B's own,
    // since a listener gets notifications in commit order.
    const fromA = await Promise.all([1, 2, 3].map((n) => a.addTask(taskA, { n })))
    const finalA = await Promise.all(fromA.map(({ taskId }) => a.waitFor(taskId, { timeout: '30s' })))
    expect(finalA.map((t) => t.result)).toEqual([1, 2, 3].map((n) => ({ app: 'a', n })))

    const fromB = await Promise.all([4, 5].map((n) => b.addTask(taskB, { n })))
    const finalB = await Promise.all(fromB.map(({ taskId }) => b.waitFor(taskId, { timeout: '30s' })))
    expect(finalB.map((t) => t.result)).toEqual([4, 5].map((n) => ({ app: 'b', n })))

    const idsA = fromA.map((t) => t.taskId)
    const idsB = fromB.map((t) => t.taskId)
    // Both streams got their own final events (so they were live), and nothing of the other app.
    await until(() => idsB.every((id) => streamB.events.some((e) => isFinal(e, id))))
    await until(() => idsA.every((id) => streamA.events.some((e) => isFinal(e, id))))
    await streamA.stop()
    await streamB.stop()
    expect(streamB.events.some((e) => idsA.includes(e.taskId ?? ''))).toBe(false)
    expect(streamA.events.some((e) => idsB.includes(e.taskId ?? ''))).toBe(false)
    expect(streamB.events.filter((e) => e.type === 'progress').map((e) => e.step)).not.toContainEqual(
      expect.stringContaining('a secret'),
    )
    const sse = await sseText()
    expect(sse).toContain(idsB[0])
    expect(sse).not.toContain('a secret')
    for (const id of idsA) expect(sse).not.toContain(id)

    // Reads: by id, by list, over HTTP.
    expect(await b.getTask(idsA[0]!)).toBeNull()
    expect(await a.getTask(idsB[0]!)).toBeNull()
    expect((await b.listTasks({})).items.map((t) => t.taskId).sort()).toEqual([...idsB].sort())
    expect((await createApp({ tasks: b }).request(`/tasks/${idsA[0]}`)).status).toBe(404)

    // Stats and workers: each app counts its own history and its own worker slots.
    const [statsA, statsB] = await Promise.all([a.getTaskStats(), b.getTaskStats()])
    expect([statsA.totalTasksProcessed, statsB.totalTasksProcessed]).toEqual([3, 2])
    expect([statsA.totalWorkers, statsB.totalWorkers]).toEqual([2, 3])
  })

  it('keeps cron schedules apart', async () => {
    await a.schedule('work', '0 3 * * *', { n: 9 })
    expect((await a.listSchedules()).map((s) => [s.task, s.key])).toEqual([['work', 'work']])
    expect(await b.listSchedules()).toEqual([])
    await a.unschedule('work')
  })

  it("does not wait for another app's migration lock", async () => {
    const holder = new pg.Client({ connectionString: db.url })
    await holder.connect()
    try {
      // App B is "migrating": its transaction holds B's migration lock until we roll it back.
      await holder.query('begin')
      await holder.query(`select pg_advisory_xact_lock(hashtext('tl_b.migrate'))`)
      const config = loadConfig({ TASKLANE_SCHEMA: 'tl_a' })
      const applied = await migrateToLatest({
        connectionString: db.url,
        schema: config.schema,
        bossSchema: config.bossSchema,
        dbBackend: 'postgres',
        log,
      })
      expect(applied).toEqual([])
      // …while B's own migrate waits for it (checked with a lock probe, not a timer).
      const probe = await db.query<{ got: boolean }>(
        `select pg_try_advisory_lock(hashtext('tl_b.migrate')) as got`,
      )
      expect(probe.rows[0]!.got).toBe(false)
    } finally {
      await holder.query('rollback').catch(() => {})
      await holder.end()
    }
  })
})

function isFinal(e: TaskEvent, id: string): boolean {
  return e.taskId === id && e.type === 'status' && e.status === 'completed'
}

async function until(check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met within 15 s')
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** Reads an SSE response in the background; the returned function cancels it and gives the text. */
function readAll(res: Response): () => Promise<string> {
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  let text = ''
  const done = (async () => {
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }))
      if (done) return
      text += decoder.decode(value, { stream: true })
    }
  })()
  return async () => {
    await reader.cancel().catch(() => {})
    await done
    return text
  }
}
