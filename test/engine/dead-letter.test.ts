import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../../src/http/app.ts'
import type { Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { call } from '../http/helpers/call.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'

// A task whose retries are spent and that names a dead-letter queue is parked: failed, marked with
// that queue, listable and retryable, and never run again as the task that failed. (pg-boss's own
// dead letter copied the job into `dead`, whose worker dispatched on data.task and ran `poison` again
// under a new id with the dead queue's policy: 4 executions, 2 failed tasks, `dead`'s task unrun.)
const runs = { poison: 0, deadHandler: 0 }
let healed = false
const poison = defineTask({
  name: 'poison',
  deadLetter: 'dead',
  retry: { limit: 0 },
  async run() {
    runs.poison++
    if (healed) return { healed: true }
    throw new Error('always')
  },
})
const deadHandler = defineTask({
  name: 'dead-handler',
  queue: 'dead',
  async run() {
    runs.deadHandler++
    return 'handled'
  },
})

describe('dead letters', () => {
  let db: TestDatabase
  let tasks: Tasklane

  beforeAll(async () => {
    db = await createTestDatabase()
    tasks = await startTasklane(db.url, [poison, deadHandler], {
      workers: 1,
      queues: { default: { concurrency: 2 }, dead: { concurrency: 2 } },
    })
  })
  afterAll(async () => {
    await tasks?.stop()
    await db?.drop()
  })

  it('parks a failed task for its dead-letter queue: run once, visible, listable, retryable', async () => {
    const { taskId } = await tasks.addTask(poison, {})
    const failed = await tasks.waitFor(taskId, { timeout: '30s' })
    expect(failed).toMatchObject({
      status: 'failed',
      deadLetter: 'dead',
      attempts: 1,
      error: { message: 'always' },
    })
    // The dead queue's own task runs, and only it: by the time it completes, a copy of `poison` in
    // `dead` (the old behaviour) would have been leased before it (created earlier, same priority).
    const handled = await tasks.addTask(deadHandler, {})
    expect(await tasks.waitFor(handled.taskId, { timeout: '30s' })).toMatchObject({ status: 'completed' })
    expect(runs).toEqual({ poison: 1, deadHandler: 1 })
    const copies = await db.query(`select id from pgboss.job where data->>'task' = 'poison' and id <> $1`, [
      taskId,
    ])
    expect(copies.rows).toEqual([])

    const failedTasks = await tasks.listTasks({ status: 'failed' })
    expect(failedTasks.items.map((t) => t.taskId)).toEqual([taskId])
    const parked = await tasks.listTasks({ deadLettered: true })
    expect(parked.items.map((t) => [t.taskId, t.deadLetter])).toEqual([[taskId, 'dead']])
    expect((await tasks.listTasks({ deadLettered: true, status: 'completed' })).items).toEqual([])

    const app = createApp({ tasks })
    const got = await call(app, 'GET', `/tasks/${taskId}`)
    expect(got.json).toMatchObject({ status: 'failed', deadLetter: 'dead' })
    const listed = await call(app, 'GET', '/tasks?deadLettered=true')
    expect(listed.status).toBe(200)
    expect(listed.json.items.map((t: { taskId: string }) => t.taskId)).toEqual([taskId])
    const bad = await call(app, 'GET', '/tasks?deadLettered=yes')
    expect(bad.status).toBe(400)

    healed = true
    await tasks.retry(taskId)
    const done = await tasks.waitFor(taskId, { timeout: '30s' })
    expect(done).toMatchObject({ status: 'completed', result: { healed: true } })
    expect(done.deadLetter).toBeUndefined()
    expect(runs.poison).toBe(2)
    expect((await tasks.listTasks({ deadLettered: true })).items).toEqual([])
  })

  it('retryFailed runs dead-lettered tasks again', async () => {
    healed = false
    const { taskId } = await tasks.addTask(poison, {})
    expect(await tasks.waitFor(taskId, { timeout: '30s' })).toMatchObject({ deadLetter: 'dead' })
    healed = true
    expect(await tasks.retryFailed('poison')).toEqual({ retried: 1 })
    expect(await tasks.waitFor(taskId, { timeout: '30s' })).toMatchObject({ status: 'completed' })
  })

  it('never runs a dead-letter copy an earlier version let pg-boss make; marks its original instead', async () => {
    healed = false
    const before = runs.poison
    // A task enqueued by an earlier version carries pg-boss's dead_letter: it fails without a copy.
    const old = await tasks.addTask(poison, {}, { delay: '1h' })
    await db.query(`update pgboss.job set dead_letter = 'dead', start_after = now() where id = $1`, [
      old.taskId,
    ])
    expect(await tasks.waitFor(old.taskId, { timeout: '30s' })).toMatchObject({ deadLetter: 'dead' })
    expect(runs.poison).toBe(before + 1)
    // A copy pg-boss made before the upgrade (its original's history row unmarked) is taken in.
    await db.query(`update tasklane.task_history set dead_letter = null where task_id = $1`, [old.taskId])
    const copy = await db.query<{ id: string }>(
      `insert into pgboss.job (name, data, source_name, source_id, source_created_on)
       values ('dead', '{"task": "poison", "args": {}}', 'default', $1, now()) returning id`,
      [old.taskId],
    )
    const handled = await tasks.addTask(deadHandler, {})
    await tasks.waitFor(handled.taskId, { timeout: '30s' })
    expect(runs.poison).toBe(before + 1)
    expect((await db.query('select 1 from pgboss.job where id = $1', [copy.rows[0]!.id])).rows).toEqual([])
    expect(await tasks.getTask(old.taskId)).toMatchObject({ status: 'failed', deadLetter: 'dead' })
  })
})
