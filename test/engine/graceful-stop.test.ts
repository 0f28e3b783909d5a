import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'

const started = new Map<string, number[]>()
let release: () => void = () => {}
const shortStarted = new Promise<void>((r) => {
  release = r
})

const short = defineTask({
  name: 'short',
  async run(_args: unknown, ctx) {
    release()
    await new Promise((r) => setTimeout(r, 300))
    return { attempt: ctx.attempt }
  },
})
const long = defineTask({
  name: 'long',
  async run(_args: unknown, ctx) {
    started.set(ctx.taskId, [...(started.get(ctx.taskId) ?? []), ctx.attempt])
    if (started.get(ctx.taskId)!.length > 1) return { attempt: ctx.attempt }
    await new Promise((_resolve, reject) =>
      ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)),
    )
  },
})

describe('stop({ timeout })', () => {
  let db: TestDatabase
  let producer: Tasklane

  beforeAll(async () => {
    db = await createTestDatabase()
    producer = await startTasklane(db.url, [short, long], { workers: 0 })
  })
  afterAll(async () => {
    await producer?.stop()
    await db?.drop()
  })

  it('lets short tasks finish, hands long ones back without spending an attempt, leaves nothing active', async () => {
    const worker = await startTasklane(db.url, [short, long], { workers: 4, supervise: false })
    const l = await producer.addTask(long, {})
    const s = await producer.addTask(short, {})
    await shortStarted
    while (!started.has(l.taskId)) await new Promise((r) => setImmediate(r))
    // The short task needs 0.3 s and a settle; 5 s leaves margin for a loaded machine (the long task
    // is aborted at the timeout, so this is also how long the stop takes).
    await worker.stop({ timeout: '5s' })
    expect((await producer.getTask(s.taskId))?.status).toBe('completed')
    const handedBack = await producer.getTask(l.taskId)
    expect(handedBack?.status).toBe('queued')
    const { rows } = await db.query(`select count(*)::int as n from pgboss.job where state = 'active'`)
    expect(rows[0].n).toBe(0)
    // Run it again: the handed-back attempt was not counted.
    const next = await startTasklane(db.url, [short, long], { workers: 1, supervise: false })
    try {
      const info = await producer.waitFor(l.taskId)
      expect(info.status).toBe('completed')
      expect(info.result).toEqual({ attempt: 1 })
      expect(started.get(l.taskId)).toEqual([1, 1])
    } finally {
      await next.stop()
    }
  })

  it('tolerates stop before start and double stop', async () => {
    const { createTasklane } = await import('../../src/tasklane.ts')
    const { loadConfig } = await import('../../src/config.ts')
    const t = createTasklane({
      config: loadConfig({ DATABASE_URL: db.url, LOG_LEVEL: 'silent' }),
      tasks: [short],
    })
    await t.stop()
    await t.stop()
    const w = await startTasklane(db.url, [short], { workers: 1 })
    await Promise.all([w.stop(), w.stop()])
    await w.stop()
    expect(w.started).toBe(false)
  })
})
