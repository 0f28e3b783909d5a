import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../../src/http/app.ts'
import type { Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'
import { call } from './helpers/call.ts'

// /metrics and getTaskStats() read one set of stats dependencies (issue 12, item 1). They used to be
// built twice, and differently: /metrics took its queues from the process's runners, so an API
// process (workers: 0) left out the queues it knows only from its `queues` option.

const plain = defineTask({ name: 'plain', async run() {} })
// Registered only in the producer: the API process knows its queue from `queues` alone.
const mail = defineTask({ name: 'mail', queue: 'mail', async run() {} })

/** The value of each sample of a family in Prometheus text, by its label text. */
function samples(text: string, family: string): Map<string, number> {
  const found = new Map<string, number>()
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${family}(\\{[^}]*\\})? (\\S+)$`).exec(line)
    if (m) found.set(m[1] ?? '', Number(m[2]))
  }
  return found
}

describe('GET /metrics and getTaskStats() on a process with workers: 0', () => {
  let db: TestDatabase
  let producer: Tasklane
  let api: Tasklane

  beforeAll(async () => {
    db = await createTestDatabase()
    // Nobody works either queue: what is enqueued stays queued, so both reads see the same sizes.
    producer = await startTasklane(db.url, [mail], { workers: 0 })
    api = await startTasklane(db.url, [plain], { workers: 0, queues: { mail: { concurrency: 1 } } })
    await producer.addTasks(mail, [{}, {}, {}])
    await api.addTasks(plain, [{}, {}])
  })
  afterAll(async () => {
    await api?.stop()
    await producer?.stop()
    await db?.drop()
  })

  it('agree on every queue the process knows, its `queues` option included', async () => {
    const stats = await api.getTaskStats()
    const res = await call(createApp({ tasks: api }), 'GET', '/metrics')
    expect(res.status).toBe(200)
    const ready = samples(res.text, 'tasklane_queue_ready_tasks')
    expect(Object.fromEntries(ready)).toEqual({
      '{priority="critical"}': stats.criticalQueueSize,
      '{priority="high"}': stats.highQueueSize,
      '{priority="normal"}': stats.normalQueueSize,
      '{priority="low"}': stats.lowQueueSize,
    })
    expect(stats.totalQueued).toBe(5)
    expect([...ready.values()].reduce((a, b) => a + b, 0)).toBe(stats.totalQueued)
  })
})
