import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.ts'
import { parseDuration } from '../../src/duration.ts'
import { engineOf } from '../../src/internal.ts'
import { createTasklane, type Tasklane } from '../../src/tasklane.ts'
import { defineTask, type TaskDefinition } from '../../src/tasks/define-task.ts'
import { retryDelayMs } from '../../src/tasks/retry-delay.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'

// Every duration a user gives is honoured to the millisecond, or refused with the real granularity
// (issue 15, kind 4).

describe('durations are whole milliseconds, never rounded', () => {
  it('parses exactly and refuses what is finer than a millisecond', () => {
    expect(parseDuration('1.1s')).toBe(1100)
    expect(parseDuration('1500ms')).toBe(1500)
    expect(parseDuration('0.25s')).toBe(250)
    expect(parseDuration(200)).toBe(200)
    expect(parseDuration('0.5ms')).toBeNull()
    expect(parseDuration('1.0005s')).toBeNull()
    expect(parseDuration(1.5)).toBeNull()
  })

  it('computes retry waits in milliseconds: fixed, exponential with its spread, capped', () => {
    const fixed = { delayMs: 200, backoff: 'fixed' as const, maxDelayMs: null }
    expect(retryDelayMs(fixed, 1)).toBe(200)
    expect(retryDelayMs(fixed, 5)).toBe(200)
    const exp = { delayMs: 200, backoff: 'exponential' as const, maxDelayMs: 1500 }
    expect(retryDelayMs(exp, 1, () => 0)).toBe(200)
    expect(retryDelayMs(exp, 2, () => 0)).toBe(400)
    expect(retryDelayMs(exp, 2, () => 0.5)).toBe(600)
    expect(retryDelayMs(exp, 4, () => 0)).toBe(1500)
  })

  it('refuses a heartbeat timeout finer than pg-boss’s 1 s granularity, saying so', () => {
    expect(() => createTasklane({ config: loadConfig({}), tasks: [], heartbeatTimeout: '7500ms' })).toThrow(
      /heartbeatTimeout="7500ms" is invalid: expected a whole number of seconds \(its granularity is 1 s/,
    )
    expect(() => loadConfig({ TASKLANE_HEARTBEAT_TIMEOUT: '7500ms' })).toThrow(
      /TASKLANE_HEARTBEAT_TIMEOUT="7500ms" is invalid: expected a whole number of seconds/,
    )
    expect(loadConfig({ TASKLANE_HEARTBEAT_TIMEOUT: '7s' }).heartbeatTimeoutMs).toBe(7000)
  })

  it('refuses a timeout longer than a timer can wait (it would fire after 1 ms)', () => {
    expect(() => defineTask({ name: 'long', timeout: '30d', async run() {} })).toThrow(
      /timeout must be at most 2147483647 ms/,
    )
    expect(defineTask({ name: 'ok', timeout: '24d', async run() {} }).timeoutMs).toBe(24 * 86_400_000)
  })
})

const flaky = defineTask({
  name: 'flaky',
  retry: { limit: 1, delay: '200ms' },
  async run(_args: Record<string, never>, ctx) {
    if (ctx.attempt === 1) throw new Error('first attempt fails')
    return { attempt: ctx.attempt }
  },
})
const backoff = defineTask({
  name: 'backoff',
  retry: { limit: 1, delay: '200ms', backoff: 'exponential', maxDelay: '300ms' },
  async run(_args: Record<string, never>, ctx) {
    if (ctx.attempt === 1) throw new Error('first attempt fails')
    return null
  },
})
const plain = defineTask({ name: 'plain', async run() {} })

describe('retry delays and enqueue delays honoured to the millisecond', () => {
  let db: TestDatabase
  let tasks: Tasklane

  beforeAll(async () => {
    db = await createTestDatabase()
    tasks = await startTasklane(db.url, [flaky, backoff, plain], { workers: 1 })
  })
  afterAll(async () => {
    await tasks?.stop()
    await db?.drop()
  })

  /** The retry's start, and the database-clock bounds of the moment the failure was settled. */
  async function retryGap(task: TaskDefinition<Record<string, never>, unknown>) {
    const { taskId } = await tasks.addTask(task, {})
    const events = tasks.events({ taskId })
    for await (const ev of events) if (ev.type === 'status' && ev.status === 'retrying') break
    await events.return(undefined)
    const { rows } = await db.query(
      `select a.finished_at, j.start_after, clock_timestamp() as now
       from pgboss.job j join tasklane.task_attempt a on a.task_id = j.id
       where j.id = $1 and a.attempt = 1`,
      [taskId],
    )
    const { finished_at, start_after, now } = rows[0]
    await tasks.waitFor(taskId, { timeout: '30s' })
    // The retry was set at settle time, between the attempt's end and now: start_after − delay lies there.
    return {
      low: start_after.getTime() - now.getTime(),
      high: start_after.getTime() - finished_at.getTime(),
    }
  }

  it("waits retry: { delay: '200ms' } to the millisecond (it reached pg-boss as 1 s)", async () => {
    const { low, high } = await retryGap(flaky)
    expect(low).toBeLessThanOrEqual(200)
    expect(high).toBeGreaterThanOrEqual(200)
    // Rounded up to a second, the retry would start ≥ 1000 ms after the attempt ended. The margin
    // (800 ms between the attempt's end and its settle) is for a loaded machine.
    expect(high).toBeLessThan(1000)
  })

  it('caps exponential backoff at maxDelay in milliseconds', async () => {
    const { low, high } = await retryGap(backoff)
    expect(low).toBeLessThanOrEqual(300)
    expect(high).toBeGreaterThanOrEqual(200)
    expect(high).toBeLessThan(1000)
  })

  it("starts a { delay: '250ms' } task 250 ms after the database's now, exactly", async () => {
    // Inside the enqueue's own transaction, now() is the instant pg-boss added the delay to.
    const gap = await engineOf(tasks)
      .db.transaction()
      .execute(async (trx) => {
        const { taskId } = await tasks.addTask(plain, {}, { delay: '250ms', db: trx })
        const { rows } = await sql<{ ms: string }>`
        select (extract(epoch from start_after - now()) * 1000)::text as ms
        from pgboss.job where id = ${taskId}::uuid`.execute(trx)
        return Number(rows[0]!.ms)
      })
    expect(gap).toBe(250)
  })
})
