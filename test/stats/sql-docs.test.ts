import { readFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'
import { fillHistory } from './fixtures/fill-history.ts'

const DOC = path.join(import.meta.dirname, '../../docs/sql.md')
/** Each ```sql block, labelled by the sentence that introduces it. */
const examples = [...readFileSync(DOC, 'utf8').matchAll(/([^\n]+)\n+```sql\n([\s\S]*?)```/g)].map(
  (m) => [m[1]!.trim(), m[2]!.trim()] as const,
)

const waiting = defineTask({ name: 'waiting', async run() {} })

describe('docs/sql.md: every example query runs and returns rows', () => {
  let db: TestDatabase
  let tasks: Tasklane

  beforeAll(async () => {
    db = await createTestDatabase()
    // 2,000 finished tasks over the last 3 days, failures and retried attempts among them; some live ones.
    await fillHistory((q, v) => db.query(q, v), { rows: 2_000, spanMs: 3 * 86_400_000 })
    await db.query(`update tasklane.task_history set args = '{"userId":"u1"}' where task_id in
      (select task_id from tasklane.task_history order by finished_at desc limit 3)`)
    // A task that failed once and then completed.
    await db.query(`insert into tasklane.task_attempt (task_id, attempt, task, queue, outcome, started_at, finished_at)
      select task_id, 1, task, queue, 'failed', started_at - interval '2 s', started_at - interval '1 s'
      from tasklane.task_history where status = 'completed' order by finished_at desc limit 2`)
    tasks = await startTasklane(db.url, [waiting], { workers: 0 })
    await tasks.addTasks(waiting, [{}, {}])
  })
  afterAll(async () => {
    await tasks?.stop()
    await db?.drop()
  })

  it('finds the examples', () => {
    expect(examples.length).toBeGreaterThanOrEqual(8)
  })

  it.each(examples)('%s', async (_label, query) => {
    const { rows } = await db.query(query)
    expect(rows.length).toBeGreaterThan(0)
  })
})
