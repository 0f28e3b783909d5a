import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'

const chatty = defineTask({
  name: 'chatty',
  async run(args: { calls: number }, ctx) {
    const started = Date.now()
    for (let i = 1; i <= args.calls; i++) {
      await ctx.progress((i / args.calls) * 100, `item ${i}`)
      // Yield now and then so the throttle's timer can fire, as a real task's awaits would.
      if (i % 1000 === 0) await new Promise((r) => setImmediate(r))
    }
    return { ms: Date.now() - started }
  },
})

describe('progress', () => {
  let db: TestDatabase
  let tasks: Tasklane

  beforeAll(async () => {
    db = await createTestDatabase()
    tasks = await startTasklane(db.url, [chatty], { workers: 1 })
  })
  afterAll(async () => {
    await tasks?.stop()
    await db?.drop()
  })

  it('persists the latest value, streams it, and costs a few writes a second however often it is called', async () => {
    const { taskId } = await tasks.addTask(chatty, { calls: 20_000 })
    const progress: number[] = []
    const seen = (async () => {
      for await (const ev of tasks.events({ taskId })) if (ev.type === 'progress') progress.push(ev.percent)
    })()
    const info = await tasks.waitFor(taskId)
    await seen
    expect(info.status).toBe('completed')
    expect(info.progress).toMatchObject({ percent: 100, step: 'item 20000' })
    const ms = (info.result as { ms: number }).ms
    // 20,000 calls; at most one write per 250 ms window plus the leading and trailing writes.
    const maxWrites = Math.ceil(ms / 250) + 2
    expect(progress.length).toBeGreaterThan(0)
    expect(progress.length).toBeLessThanOrEqual(maxWrites)
    expect(progress.at(-1)).toBe(100)
  })
})
