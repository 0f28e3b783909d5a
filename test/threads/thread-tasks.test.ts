import { threadId } from 'node:worker_threads'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Tasklane } from '../../src/tasklane.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'
import { hog, small, spinPastTimeout, steps, threadTasks, waitForAbort } from './fixtures/thread-tasks.ts'

// Tasks with mode: 'thread' through a whole Tasklane: leased, run in its thread pool (one thread, so
// each test also shows the pool recovered from the one before), settled in the database.
describe('thread tasks in tasklane', () => {
  let db: TestDatabase
  let tasks: Tasklane
  beforeAll(async () => {
    db = await createTestDatabase()
    tasks = await startTasklane(db.url, threadTasks, { workers: 2, threads: 1 })
  })
  afterAll(async () => {
    await tasks?.stop()
    await db?.drop()
  })

  it('runs the task in a worker thread and stores its progress and result', async () => {
    const { taskId } = await tasks.addTask(steps, { n: 4 })
    const done = await tasks.waitFor(taskId)
    expect(done.status).toBe('completed')
    expect((done.result as { threadId: number }).threadId).not.toBe(threadId)
    expect(done.progress).toMatchObject({ percent: 100, step: 'step 4/4' })
  })

  it('cancels a running thread task', async () => {
    const { taskId } = await tasks.addTask(waitForAbort, {})
    for await (const ev of tasks.events({ taskId })) if (ev.type === 'progress') break
    expect((await tasks.cancel(taskId)).status).toBe('cancelled')
    const next = await tasks.addTask(steps, { n: 1 })
    expect((await tasks.waitFor(next.taskId)).status).toBe('completed')
  })

  it('fails a thread task that runs past its timeout, and terminates the thread', async () => {
    const { taskId } = await tasks.addTask(spinPastTimeout, {})
    expect(await tasks.waitFor(taskId)).toMatchObject({ status: 'failed', error: { type: 'TimeoutError' } })
    const next = await tasks.addTask(steps, { n: 1 })
    expect((await tasks.waitFor(next.taskId)).status).toBe('completed')
  })

  it('fails a task over its memoryLimitMb with a clear error; the worker carries on', async () => {
    const { taskId } = await tasks.addTask(hog, {}, { retry: { limit: 0 } })
    expect(await tasks.waitFor(taskId)).toMatchObject({
      status: 'failed',
      error: { type: 'TaskMemoryLimitError', message: expect.stringContaining('memory limit of 32 MB') },
    })
    const next = await tasks.addTask(small, {})
    expect((await tasks.waitFor(next.taskId)).status).toBe('completed')
  })
})
