import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'

let sawAbort = 0
const slow = defineTask({
  name: 'slow',
  timeout: '200ms',
  retry: { limit: 1, delay: 0 },
  async run(_args: unknown, ctx) {
    await new Promise<void>((_resolve, reject) =>
      ctx.signal.addEventListener('abort', () => {
        sawAbort++
        reject(ctx.signal.reason)
      }),
    )
  },
})
const stubborn = defineTask({
  name: 'stubborn',
  timeout: '100ms',
  retry: { limit: 0 },
  // Ignores its signal: the attempt still fails at the timeout.
  run: () => new Promise(() => {}),
})

describe('timeout', () => {
  let db: TestDatabase
  let tasks: Tasklane

  beforeAll(async () => {
    db = await createTestDatabase()
    tasks = await startTasklane(db.url, [slow, stubborn], { workers: 2 })
  })
  afterAll(async () => {
    await tasks?.stop({ timeout: '100ms' })
    await db?.drop()
  })

  it('aborts ctx.signal and fails the attempt; retries apply', async () => {
    const { taskId } = await tasks.addTask(slow, {})
    const info = await tasks.waitFor(taskId)
    expect(info.status).toBe('failed')
    expect(info.attempts).toBe(2)
    expect(info.error).toMatchObject({ type: 'TimeoutError', message: 'attempt timed out after 200 ms' })
    expect(sawAbort).toBe(2)
    const attempts = await tasks.getAttempts(taskId)
    expect(attempts.map((a) => a.outcome)).toEqual(['timeout', 'timeout'])
    expect(attempts.every((a) => (a.durationMs ?? 0) >= 190)).toBe(true)
  })

  it('fails an attempt that ignores its signal at the timeout', async () => {
    const { taskId } = await tasks.addTask(stubborn, {})
    const info = await tasks.waitFor(taskId)
    expect(info.status).toBe('failed')
    expect(info.error?.type).toBe('TimeoutError')
  })
})
