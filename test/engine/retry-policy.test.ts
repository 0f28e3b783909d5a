import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NonRetryableError } from '../../src/errors.ts'
import type { Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'

const runsOf = new Map<string, number>()
const count = (key: string) => {
  const n = (runsOf.get(key) ?? 0) + 1
  runsOf.set(key, n)
  return n
}

class ConnectionError extends Error {
  override name = 'ConnectionError'
}

const flaky = defineTask({
  name: 'flaky',
  retry: { limit: 3, delay: 0 },
  async run(args: { key: string; failTimes: number }) {
    const n = count(args.key)
    if (n <= args.failTimes) throw new ConnectionError(`attempt ${n} failed`)
    return { succeededOn: n }
  },
})
const fatal = defineTask({
  name: 'fatal',
  retry: { limit: 5, delay: 0 },
  async run(args: { key: string }) {
    count(args.key)
    throw new NonRetryableError('bad input: retrying will not help')
  },
})
const backoff = defineTask({
  name: 'backoff',
  retry: { limit: 2, delay: '2s', backoff: 'exponential', maxDelay: '1m' },
  async run() {
    throw new Error('always')
  },
})

describe('retry policy', () => {
  let db: TestDatabase
  let tasks: Tasklane

  beforeAll(async () => {
    db = await createTestDatabase()
    tasks = await startTasklane(db.url, [flaky, fatal, backoff], { workers: 2, pollInterval: '100ms' })
  })
  afterAll(async () => {
    await tasks?.stop()
    await db?.drop()
  })

  it('retries a failing task and records each failed attempt', async () => {
    const { taskId } = await tasks.addTask(flaky, { key: 'a', failTimes: 2 })
    const info = await tasks.waitFor(taskId)
    expect(info.status).toBe('completed')
    expect(info.result).toEqual({ succeededOn: 3 })
    expect(info.attempts).toBe(3)
    expect(info.maxAttempts).toBe(4)
    const attempts = await tasks.getAttempts(taskId)
    expect(attempts.map((a) => a.attempt)).toEqual([1, 2])
    expect(attempts[0]!.error).toMatchObject({
      type: 'ConnectionError',
      message: 'attempt 1 failed',
      retryable: true,
    })
  })

  it('fails for good when retries are spent', async () => {
    const { taskId } = await tasks.addTask(flaky, { key: 'b', failTimes: 10 })
    const info = await tasks.waitFor(taskId)
    expect(info.status).toBe('failed')
    expect(info.attempts).toBe(4)
    expect(info.error).toMatchObject({ type: 'ConnectionError', message: 'attempt 4 failed' })
    expect(runsOf.get('b')).toBe(4)
    const { rows } = await db.query(
      `select count(*)::int as n from tasklane.task_history where task_id = $1`,
      [taskId],
    )
    expect(rows[0].n).toBe(1)
  })

  it('fails at once on NonRetryableError', async () => {
    const { taskId } = await tasks.addTask(fatal, { key: 'c' })
    const info = await tasks.waitFor(taskId)
    expect(info.status).toBe('failed')
    expect(info.attempts).toBe(1)
    expect(info.error).toMatchObject({ type: 'NonRetryableError', retryable: false })
    expect(runsOf.get('c')).toBe(1)
  })

  it('backs off before a retry', async () => {
    const { taskId } = await tasks.addTask(backoff, {})
    // The first attempt fails at once; the task then waits out its backoff as `retrying`.
    for (const ev of [tasks.events({ taskId })]) {
      for await (const e of ev) if (e.type === 'status' && e.status === 'retrying') break
    }
    const { rows } = await db.query(
      `select extract(epoch from (j.start_after - a.finished_at)) as wait from pgboss.job j
       join tasklane.task_attempt a on a.task_id = j.id where j.id = $1`,
      [taskId],
    )
    expect(Number(rows[0].wait)).toBeGreaterThanOrEqual(1.5)
    const info = await tasks.getTask(taskId)
    expect(info?.status).toBe('retrying')
  })
})

describe('retryFailed', () => {
  let db: TestDatabase
  let tasks: Tasklane

  beforeAll(async () => {
    db = await createTestDatabase()
    tasks = await startTasklane(db.url, [flaky, fatal], { workers: 2 })
  })
  afterAll(async () => {
    await tasks?.stop()
    await db?.drop()
  })

  it('runs every failed task of a name again', async () => {
    const failed = await tasks.addTasks(fatal, [{ key: 'r1' }, { key: 'r2' }, { key: 'r3' }])
    await Promise.all(failed.map((f) => tasks.waitFor(f.taskId)))
    const { retried } = await tasks.retryFailed('fatal')
    expect(retried).toBe(3)
    const again = await Promise.all(failed.map((f) => tasks.waitFor(f.taskId)))
    expect(again.every((i) => i.status === 'failed')).toBe(true)
    expect(['r1', 'r2', 'r3'].map((k) => runsOf.get(k))).toEqual([2, 2, 2])
  })
})
