import { readFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDb } from '../../src/db/create-db.ts'
import { createLogger } from '../../src/logger.ts'
import type { Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { Maintenance } from '../../src/worker/maintenance.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { jobStoreFor } from '../support/job-store.ts'
import { startTasklane } from '../support/tasklane.ts'
import { fillHistory } from './fixtures/fill-history.ts'
import { fillRollup } from './fixtures/fill-rollup.ts'

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
    // An install with 3 days of history, folded into the rollup, and 400 older days of rollup only.
    await db.query(`update tasklane.rollup_state set folded_before = current_date - 3`)
    // 2,000 finished tasks over the last 3 days, failures and retried attempts among them; some live ones.
    await fillHistory((q, v) => db.query(q, v), { rows: 2_000, spanMs: 3 * 86_400_000 })
    await fillRollup((q, v) => db.query(q, v), { days: 400, tasks: 5, beforeDaysAgo: 3 })
    await db.query(`update tasklane.task_history set args = '{"userId":"u1"}' where task_id in
      (select task_id from tasklane.task_history order by finished_at desc limit 3)`)
    // A task that failed once and then completed.
    await db.query(`insert into tasklane.task_attempt (task_id, attempt, task, queue, outcome, started_at, finished_at)
      select task_id, 1, task, queue, 'failed', started_at - interval '2 s', started_at - interval '1 s'
      from tasklane.task_history where status = 'completed' order by finished_at desc limit 2`)
    tasks = await startTasklane(db.url, [waiting], { workers: 0 })
    await tasks.addTasks(waiting, [{}, {}])
    const kdb = createDb({ connectionString: db.url, schema: 'tasklane', max: 1 })
    await new Maintenance({
      db: kdb.kysely,
      store: jobStoreFor(kdb.kysely, { bossSchema: 'pgboss', schema: 'tasklane' }),
      queues: () => ['default'],
      config: { ...tasks.config },
      log: createLogger('silent'),
      foldGraceMs: 0,
    }).foldOnce()
    await kdb.close()
  })
  afterAll(async () => {
    await tasks?.stop()
    await db?.drop()
  })

  it('finds the examples', () => {
    expect(examples.length).toBeGreaterThanOrEqual(13)
  })

  it.each(examples)('%s', async (_label, query) => {
    const { rows } = await db.query(query)
    expect(rows.length).toBeGreaterThan(0)
  })

  it('the year-long report has every day of the year, history pruned or not', async () => {
    const [, query] = examples.find(([label]) => label.startsWith('Daily failure rate per task'))!
    const { rows } = await db.query(
      `select count(distinct day)::int as days from (${query.replace(/;$/, '')}) r`,
    )
    expect(rows[0].days).toBe(366)
  })
})
