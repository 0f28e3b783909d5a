import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { TaskPriority } from '../../src/tasks/priority.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'

const order: string[] = []
const step = defineTask({
  name: 'step',
  async run(args: { label: string }) {
    order.push(args.label)
  },
})

describe('priority order', () => {
  let db: TestDatabase
  let producer: Tasklane
  let worker: Tasklane | undefined

  beforeAll(async () => {
    db = await createTestDatabase()
    producer = await startTasklane(db.url, [step], { workers: 0 })
  })
  afterAll(async () => {
    await worker?.stop()
    await producer?.stop()
    await db?.drop()
  })

  it('runs every ready task of higher priority before any of lower priority, with one worker', async () => {
    const levels = [TaskPriority.LOW, TaskPriority.NORMAL, TaskPriority.CRITICAL, TaskPriority.HIGH]
    const expected: string[] = []
    // Interleave priorities at enqueue time; within a priority, creation order must hold.
    for (let i = 0; i < 10; i++) {
      for (const p of levels) await producer.addTask(step, { label: `${p}-${i}` }, { priority: p })
    }
    for (const p of ['CRITICAL', 'HIGH', 'NORMAL', 'LOW'])
      for (let i = 0; i < 10; i++) expected.push(`${p}-${i}`)
    const last = await producer.addTask(step, { label: 'LOW-last' }, { priority: TaskPriority.LOW })
    expected.push('LOW-last')
    worker = await startTasklane(db.url, [step], {
      workers: 1,
      queues: { default: { concurrency: 1, prefetch: 5 } },
    })
    await producer.waitFor(last.taskId, { timeout: '30s' })
    expect(order).toEqual(expected)
  })
})
