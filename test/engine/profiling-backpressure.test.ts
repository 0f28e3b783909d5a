import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'

const crunch = defineTask({
  name: 'crunch',
  async run() {
    // Some real CPU and memory, so the profile has something to show.
    const buffers = Array.from({ length: 20 }, () => Buffer.alloc(1024 * 1024, 1))
    let sum = 0
    for (let i = 0; i < 2e6; i++) sum += i % 7
    return { sum, mb: buffers.length }
  },
})

describe('seed options: profiling and the memory pool', () => {
  let db: TestDatabase
  const started: Tasklane[] = []

  beforeAll(async () => {
    db = await createTestDatabase()
  })
  afterAll(async () => {
    for (const t of started) await t.stop()
    await db?.drop()
  })

  it('records per-task CPU time and peak memory in history when profiling is on', async () => {
    const tasks = await startTasklane(db.url, [crunch], { workers: 1, enableProfiling: true })
    started.push(tasks)
    const { taskId } = await tasks.addTask(crunch, {})
    await tasks.waitFor(taskId)
    const { rows } = await db.query(
      'select cpu_ms, peak_memory_mb from tasklane.task_history where task_id = $1',
      [taskId],
    )
    expect(rows[0].cpu_ms).toBeGreaterThan(0)
    expect(rows[0].peak_memory_mb).toBeGreaterThan(20)
    await tasks.stop()
  })

  it('stops leasing while the process is above its memory budget', async () => {
    // A 1 MiB budget is always exceeded: the worker must leave the task queued, poll after poll.
    const tasks = await startTasklane(db.url, [crunch], { workers: 1, memoryPoolMb: 1, pollInterval: '50ms' })
    started.push(tasks)
    const { taskId } = await tasks.addTask(crunch, {})
    await expect(tasks.waitFor(taskId, { timeout: '500ms' })).rejects.toThrow(/still queued/)
    const { rows } = await db.query('select memory_pool_mb from tasklane.worker_process where id = $1', [
      tasks.workerId,
    ])
    expect(rows[0].memory_pool_mb).toBe(1)
    await tasks.stop()
    // With no budget the same task runs.
    const unbounded = await startTasklane(db.url, [crunch], { workers: 1 })
    started.push(unbounded)
    expect((await unbounded.waitFor(taskId)).status).toBe('completed')
  })
})
