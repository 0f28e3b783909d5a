import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TasklaneError } from '../../src/errors.ts'
import type { Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'

const remind = defineTask({
  name: 'remind',
  async run(args: { userId: string }) {
    return args
  },
})

describe('idempotency keys', () => {
  let db: TestDatabase
  let tasks: Tasklane

  beforeAll(async () => {
    db = await createTestDatabase()
    tasks = await startTasklane(db.url, [remind], { workers: 0, poolSize: 20 })
  })
  afterAll(async () => {
    await tasks?.stop()
    await db?.drop()
  })

  it('returns the same taskId with deduplicated: true for a reused key', async () => {
    const first = await tasks.addTask(remind, { userId: 'u1' }, { idempotencyKey: 'k-1' })
    const again = await tasks.addTask(remind, { userId: 'u1' }, { idempotencyKey: 'k-1' })
    expect(first.deduplicated).toBe(false)
    expect(again).toMatchObject({ taskId: first.taskId, deduplicated: true })
  })

  it('creates exactly one task when 50 callers race with one key', async () => {
    const results = await Promise.all(
      Array.from({ length: 50 }, () =>
        tasks.addTask(remind, { userId: 'race' }, { idempotencyKey: 'race-key' }),
      ),
    )
    const ids = new Set(results.map((r) => r.taskId))
    expect(ids.size).toBe(1)
    expect([...ids][0]).toMatch(/^[0-9a-f-]{36}$/)
    expect(results.filter((r) => !r.deduplicated)).toHaveLength(1)
    const { rows } = await db.query(
      `select count(*)::int as n from pgboss.job where data->'args'->>'userId' = 'race'`,
    )
    expect(rows[0].n).toBe(1)
  })

  it('refuses the key for a different request (409) and writes nothing', async () => {
    await tasks.addTask(remind, { userId: 'u2' }, { idempotencyKey: 'k-2' })
    const before = await db.query(`select count(*)::int as n from pgboss.job`)
    const err = await tasks
      .addTask(remind, { userId: 'someone-else' }, { idempotencyKey: 'k-2' })
      .catch((e) => e)
    expect(err).toBeInstanceOf(TasklaneError)
    expect(err).toMatchObject({ code: 'idempotency_conflict', status: 409 })
    const after = await db.query(`select count(*)::int as n from pgboss.job`)
    expect(after.rows[0].n).toBe(before.rows[0].n)
  })
})
