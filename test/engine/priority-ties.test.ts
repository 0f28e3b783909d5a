import { PgBoss } from 'pg-boss'
import { v7 as uuidv7 } from 'uuid'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'

// Tasks added by one addTasks call share one transaction, so pg-boss gives them one created_on: the
// tie between them must still run in the order they were added, whether the worker leases one task at
// a time (prefetch 0), a batch it orders in its own buffer (prefetch 4: once ran as 3,1,2,0,4,…), or
// as many as the default lets it. The lease breaks ties by task id, which for tasklane's time-ordered
// ids is the order they were added; where the rows sit in the table does not matter.
const order: number[] = []
const tie = defineTask({
  name: 'tie',
  async run(args: { n: number }) {
    order.push(args.n)
  },
})

const settings: { label: string; prefetch?: number }[] = [
  { label: 'prefetch 4', prefetch: 4 },
  { label: 'prefetch 0', prefetch: 0 },
  { label: 'the default prefetch' },
]

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

  async function drain(prefetch: number | undefined, last: string): Promise<void> {
    const worker = await startTasklane(db.url, [tie], {
      workers: 1,
      queues: { default: { concurrency: 1, ...(prefetch === undefined ? {} : { prefetch }) } },
    })
    try {
      await producer.waitFor(last, { timeout: '30s' })
    } finally {
      await worker.stop()
    }
  }

  for (const { label, prefetch } of settings) {
    it(`runs 20 tasks of one addTasks call in the order given, concurrency 1, ${label}`, async () => {
      order.length = 0
      const labels = Array.from({ length: 20 }, (_, n) => ({ n }))
      const added = await producer.addTasks(tie, labels)
      await drain(prefetch, added.at(-1)!.taskId)
      // The last one done means all are: with one slot they run one after another.
      expect(order).toEqual(labels.map((l) => l.n))
    })

    it(`breaks a tie by task id even when the table holds the rows in another order, ${label}`, async () => {
      order.length = 0
      // Ids in creation order, inserted last first in one statement: one created_on, and the
      // table (and so pg-boss's fetch index) holds them in the reverse of id order.
      const ids = Array.from({ length: 20 }, () => uuidv7())
      const boss = new PgBoss({
        connectionString: db.url,
        max: 1,
        migrate: false,
        supervise: false,
        schedule: false,
      })
      boss.on('error', () => {})
      await boss.start()
      try {
        await boss.insert(
          'default',
          ids.map((id, n) => ({ id, data: { task: 'tie', args: { n } } })).reverse(),
        )
      } finally {
        await boss.stop({ graceful: false, close: true })
      }
      // Where the rows land is the table's business: inserted last first they usually sit in reverse
      // id order, but space the earlier cases' settled rows left behind can take some of them (a proof
      // run saw 6 of 20 placed so). Either way the lease must not depend on it.
      await drain(prefetch, ids.at(-1)!)
      expect(order).toEqual(ids.map((_, n) => n))
    })
  }
})
