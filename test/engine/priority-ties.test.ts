import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'

// Tasks added by one addTasks call share one transaction, so pg-boss gives them one created_on: the
// tie between them must still run in the order they were added, whether the worker leases one task at
// a time (prefetch 0) or a batch it orders in its own buffer (prefetch 4: once ran as 3,1,2,0,4,…).
const order: number[] = []
const tie = defineTask({
  name: 'tie',
  async run(args: { n: number }) {
    order.push(args.n)
  },
})

describe('equal priorities run in insertion order', () => {
  let db: TestDatabase
  let producer: Tasklane

  beforeAll(async () => {
    db = await createTestDatabase()
    producer = await startTasklane(db.url, [tie], { workers: 0 })
  })
  afterAll(async () => {
    await producer?.stop()
    await db?.drop()
  })

  for (const prefetch of [4, 0]) {
    it(`runs 20 tasks of one addTasks call in the order given, concurrency 1, prefetch ${prefetch}`, async () => {
      order.length = 0
      const labels = Array.from({ length: 20 }, (_, n) => ({ n }))
      const added = await producer.addTasks(tie, labels)
      const worker = await startTasklane(db.url, [tie], {
        workers: 1,
        queues: { default: { concurrency: 1, prefetch } },
      })
      try {
        await producer.waitFor(added.at(-1)!.taskId, { timeout: '30s' })
        // The last one done means all are: with one slot they run one after another.
        expect(order).toEqual(labels.map((l) => l.n))
      } finally {
        await worker.stop()
      }
    })
  }
})
