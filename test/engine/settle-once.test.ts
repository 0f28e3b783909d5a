import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { engineOf } from '../../src/internal.ts'
import { createLogger } from '../../src/logger.ts'
import type { Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { JobLease } from '../../src/worker/job-lease.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'

// A job can reach the settler twice in one batch: its claim lapsed while the database was down, a
// live heartbeat put it back unspent, and the same process leased it again and ran it twice. One
// completion is the job's; the other is lost. A database-restart proof run recorded both (308
// completed history rows for 307 tasks).
const once = defineTask({ name: 'once', run: () => 'done' })

describe('settling one job twice in one batch', () => {
  let db: TestDatabase
  let tasks: Tasklane

  beforeAll(async () => {
    db = await createTestDatabase()
    tasks = await startTasklane(db.url, [once], { workers: 0 })
  })
  afterAll(async () => {
    await tasks?.stop()
    await db?.drop()
  })

  it('records one completion and reports the other lost', async () => {
    const { taskId } = await tasks.addTask(once, {})
    const engine = engineOf(tasks)
    const lease = new JobLease({
      queue: 'default',
      store: engine.store,
      db: engine.db,
      log: createLogger('silent'),
    })
    const [job] = await lease.lease(1, 1)
    expect(job?.id).toBe(taskId)
    const at = job!.leasedAt
    const later = new Date(at.getTime() + 5)
    // Submitted in the same turn: one batch.
    const settled = await Promise.all([
      engine.runtime.settler.complete({ job: job!, result: 'first', startedAt: at, finishedAt: at }),
      engine.runtime.settler.complete({
        job: { ...job! },
        result: 'second',
        startedAt: at,
        finishedAt: later,
      }),
    ])
    expect(settled.map((s) => s.status)).toEqual(['completed', 'lost'])
    const { rows } = await db.query(`select status, result from tasklane.task_history where task_id = $1`, [
      taskId,
    ])
    expect(rows).toEqual([{ status: 'completed', result: 'first' }])
  })
})
