import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { type Child, spawnTs } from '../support/child-process.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'
import { fixtureTasks, hold } from './fixtures/fixture-tasks.ts'

const ran: string[] = []
const quick = defineTask({
  name: 'quick',
  async run(_args: unknown, ctx) {
    ran.push(ctx.taskId)
  },
})

describe('cancel', () => {
  let db: TestDatabase
  let tasks: Tasklane
  let child: Child | undefined

  beforeAll(async () => {
    db = await createTestDatabase()
    await db.query('create table executions (task_id uuid not null, attempt int not null, pid int not null)')
    tasks = await startTasklane(db.url, [...fixtureTasks, quick], { workers: 0 })
  })
  afterAll(async () => {
    child?.proc.kill('SIGKILL')
    await tasks?.stop()
    await db?.drop()
  })

  it('keeps a queued task from ever running', async () => {
    const { taskId } = await tasks.addTask(quick, {}, { delay: '1h' })
    const info = await tasks.cancel(taskId)
    expect(info.status).toBe('cancelled')
    const worker = await startTasklane(db.url, [...fixtureTasks, quick], { workers: 1 })
    try {
      // The worker leases whatever is ready; a cancelled task is never among it.
      const other = await worker.addTask(quick, {})
      await worker.waitFor(other.taskId)
      expect(ran).toEqual([other.taskId])
    } finally {
      await worker.stop()
    }
    expect((await tasks.getTask(taskId))?.status).toBe('cancelled')
  })

  it('aborts a running task in another process through its ctx.signal', async () => {
    child = spawnTs('test/engine/fixtures/worker-process.ts', { DATABASE_URL: db.url, TASKLANE_WORKERS: '2' })
    await child.waitForLine(/^ready$/)
    const { taskId } = await tasks.addTask(hold, { ms: 60_000 })
    await child.waitForLine(new RegExp(`^running ${taskId}$`))
    const info = await tasks.cancel(taskId)
    expect(info.status).toBe('cancelled')
    await child.waitForLine(new RegExp(`^aborted ${taskId}$`))
    const { rows } = await db.query(`select status from tasklane.task_history where task_id = $1`, [taskId])
    expect(rows).toEqual([{ status: 'cancelled' }])
  })

  it('refuses to cancel a finished task with a 409', async () => {
    const { taskId } = await tasks.addTask(quick, {}, { delay: '1h' })
    await tasks.cancel(taskId)
    await expect(tasks.cancel(taskId)).rejects.toMatchObject({ status: 409, code: 'state_conflict' })
  })

  it('retries a cancelled task', async () => {
    const { taskId } = await tasks.addTask(quick, {}, { delay: '1h' })
    await tasks.cancel(taskId)
    const info = await tasks.retry(taskId)
    expect(['queued', 'scheduled']).toContain(info.status)
  })
})
