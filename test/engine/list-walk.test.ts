import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tasklaneRoutes } from '../../src/http/routes.ts'
import type { TaskPage } from '../../src/inspect/task-reader.ts'
import type { Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'

// Issue 19, kind 4: the keyset cursor held a millisecond timestamp while created_on has microseconds,
// so tasks created in one transaction (one now()) past the first page were unreachable.
const parked = defineTask({ name: 'parked', queue: 'parked', run: () => null })

// Tasks that finish only when the test hands out permits, so they finish *during* the walk.
let permits = 0
const waiting: (() => void)[] = []
function release(n: number): void {
  permits += n
  while (permits > 0 && waiting.length > 0) {
    permits--
    waiting.shift()!()
  }
}
const gated = defineTask({
  name: 'gated',
  queue: 'gated',
  async run() {
    if (permits > 0) permits--
    else await new Promise<void>((r) => waiting.push(r))
    return 1
  },
})

async function walk(next: (cursor: string | undefined) => Promise<TaskPage>, between?: () => Promise<void>) {
  const ids: string[] = []
  const sizes: number[] = []
  let cursor: string | undefined
  do {
    const page = await next(cursor)
    ids.push(...page.items.map((t) => t.taskId))
    sizes.push(page.items.length)
    cursor = page.nextCursor ?? undefined
    if (cursor) await between?.()
  } while (cursor)
  return { ids, sizes }
}

describe('listTasks walks every task exactly once', () => {
  let db: TestDatabase
  let producer: Tasklane

  beforeAll(async () => {
    db = await createTestDatabase()
    producer = await startTasklane(db.url, [parked, gated], { workers: 0 })
  })
  afterAll(async () => {
    await producer?.stop()
    await db?.drop()
  })

  it('51 and 120 tasks created in one transaction: every page, library and GET /tasks', async () => {
    const first = await producer.addTasks(
      parked,
      Array.from({ length: 51 }, () => ({})),
    )
    const created = await db.query(
      `select count(distinct created_on)::int as n from pgboss.job where id = any($1::uuid[])`,
      [first.map((r) => r.taskId)],
    )
    expect(created.rows[0].n).toBe(1) // one transaction, one now(): the ids alone order the page
    const lib = await walk((cursor) =>
      producer.listTasks({ task: 'parked', limit: 50, ...(cursor ? { cursor } : {}) }),
    )
    expect(lib.sizes).toEqual([50, 1])
    expect(new Set(lib.ids)).toEqual(new Set(first.map((r) => r.taskId)))

    const more = await producer.addTasks(
      parked,
      Array.from({ length: 69 }, () => ({})),
    )
    const all = new Set([...first, ...more].map((r) => r.taskId))
    const app = tasklaneRoutes(producer)
    const http = await walk(async (cursor) => {
      const res = await app.request(`/tasks?task=parked&limit=50${cursor ? `&cursor=${cursor}` : ''}`)
      expect(res.status).toBe(200)
      return (await res.json()) as TaskPage
    })
    expect(http.sizes).toEqual([50, 50, 20])
    expect(http.ids.length).toBe(120)
    expect(new Set(http.ids)).toEqual(all)
  })

  it('600 tasks finishing during the walk: none missing, none twice', async () => {
    const enqueued = await producer.addTasks(
      gated,
      Array.from({ length: 600 }, () => ({})),
    )
    const ids = new Set(enqueued.map((r) => r.taskId))
    const worker = await startTasklane(db.url, [gated], {
      queues: { gated: { concurrency: 20 } },
      supervise: false,
    })
    try {
      let completed = 0
      const counting = (async () => {
        for await (const ev of producer.events({ task: 'gated' })) {
          if (ev.type === 'status' && ev.status === 'completed') completed++
          if (completed >= 600) return
        }
      })()
      const seen: Record<string, number> = {}
      const result = await walk(
        async (cursor) => {
          const page = await producer.listTasks({ limit: 50, ...(cursor ? { cursor } : {}) })
          for (const t of page.items) if (ids.has(t.taskId)) seen[t.status] = (seen[t.status] ?? 0) + 1
          return page
        },
        async () => {
          // 50 more tasks finish before the next page is read (wherever they sit in the order).
          const target = completed + 50
          release(50)
          await expect
            .poll(() => completed, { timeout: 30_000, interval: 20 })
            .toBeGreaterThanOrEqual(Math.min(600, target))
        },
      )
      const gatedIds = result.ids.filter((id) => ids.has(id))
      expect(gatedIds.length).toBe(600)
      expect(new Set(gatedIds)).toEqual(ids)
      // The walk really met tasks in both places: some still live, some already in history.
      expect(seen.completed).toBeGreaterThan(0)
      expect((seen.queued ?? 0) + (seen.running ?? 0)).toBeGreaterThan(0)
      release(600)
      await counting
    } finally {
      release(600)
      await worker.stop()
    }
    // 600 tasks leased, run and settled in 12 steps, each awaited by its events: how long that takes
    // is the machine's business (a loaded 2-core one needs minutes); stalls fail each step's poll.
  }, 300_000)
})
