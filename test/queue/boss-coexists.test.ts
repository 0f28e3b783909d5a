import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { engineOf } from '../../src/internal.ts'
import type { Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'

// tasklane keeps its queued jobs in pg-boss's tables, and pg-boss stays pg-boss there: its API reads
// tasklane's jobs, its supervise pass (expiry, lost heartbeats, retention) runs over them without
// harming tasklane's rows or history, and a job sent with its own send() onto a tasklane queue is
// either a task (data `{ task, args }` naming a task of that queue) or fails at once, saying why.

let release!: () => void
const released = new Promise<void>((r) => {
  release = r
})
let markHeld!: () => void
const heldStarted = new Promise<void>((r) => {
  markHeld = r
})

const held = defineTask({
  name: 'held',
  queue: 'coexist',
  async run() {
    markHeld()
    await released
    return 'released'
  },
})
const echo = defineTask({
  name: 'echo',
  queue: 'coexist',
  async run(args: { n: number }) {
    return args
  },
})
const far = defineTask({ name: 'far', queue: 'elsewhere', run: async () => 'far' })

describe("pg-boss's API and maintenance on tasklane's tables", () => {
  let db: TestDatabase
  let tasks: Tasklane
  const boss = () => engineOf(tasks).store.boss

  beforeAll(async () => {
    db = await createTestDatabase()
    // No supervisor of tasklane's own: the pass below is the only one. One slot and no buffer on the
    // queue, so a task enqueued behind `held` stays waiting (pg-boss's `created`) through the pass.
    tasks = await startTasklane(db.url, [held, echo, far], {
      supervise: false,
      queues: { coexist: { concurrency: 1, prefetch: 0 } },
    })
  })
  afterAll(async () => {
    release()
    await tasks?.stop()
    await db?.drop()
  })

  it("a task tasklane enqueued is pg-boss's job, read through pg-boss's getJobById", async () => {
    const { taskId } = await tasks.addTask(echo, { n: 1 })
    const job = await boss().getJobById<{ task: string; args: unknown }>('coexist', taskId)
    expect(job).toMatchObject({ id: taskId, name: 'coexist', data: { task: 'echo', args: { n: 1 } } })
    expect((await tasks.waitFor(taskId)).status).toBe('completed')
    expect(await boss().getJobById('coexist', taskId)).toMatchObject({ id: taskId, state: 'completed' })
  })

  it("pg-boss's supervise pass leaves tasklane's waiting, running and finished tasks and its history as they were", async () => {
    const { taskId: old } = await tasks.addTask(echo, { n: 2 })
    expect((await tasks.waitFor(old)).status).toBe('completed')
    const { taskId: running } = await tasks.addTask(held, {})
    await heldStarted
    const { taskId: waiting } = await tasks.addTask(echo, { n: 3 })
    expect((await tasks.getTask(running))?.status).toBe('running')
    expect((await tasks.getTask(waiting))?.status).toBe('queued')
    // A job completed past pg-boss's retention (7 days by default): its maintenance deletes the row.
    await db.query(`update pgboss.job set completed_on = now() - interval '8 days' where id = $1`, [old])

    const jobsOf = (ids: string[]) =>
      db.query(
        `select id, state, retry_count, started_on, output from pgboss.job where id = any($1::uuid[]) order by id`,
        [ids],
      )
    const history = () => db.query(`select * from tasklane.task_history order by task_id`)
    const attempts = () => db.query(`select * from tasklane.task_attempt order by task_id, attempt`)
    const pass = () =>
      db.query(`select monitor_claim_on, maintain_on from pgboss.queue where name = 'coexist'`)
    const before = {
      jobs: (await jobsOf([running, waiting])).rows,
      history: (await history()).rows,
      attempts: (await attempts()).rows,
    }
    expect(before.history.map((h) => h.task_id)).toContain(old)
    expect((await pass()).rows).toEqual([{ monitor_claim_on: null, maintain_on: null }])

    await boss().supervise('coexist')

    // The pass ran (it stamped the queue) and pruned the job past retention.
    const [stamped] = (await pass()).rows
    expect(stamped.monitor_claim_on).toBeInstanceOf(Date)
    expect(stamped.maintain_on).toBeInstanceOf(Date)
    expect(await boss().getJobById('coexist', old)).toBeNull()
    // tasklane's rows are untouched: the running claim (heartbeating) and the waiting job as they were,
    // history and attempts row for row; the pruned task still reads from history.
    expect((await jobsOf([running, waiting])).rows).toEqual(before.jobs)
    expect((await history()).rows).toEqual(before.history)
    expect((await attempts()).rows).toEqual(before.attempts)
    expect(await tasks.getTask(old)).toMatchObject({ status: 'completed', result: { n: 2 } })
    expect((await tasks.getTask(running))?.status).toBe('running')
    expect((await tasks.getTask(waiting))?.status).toBe('queued')

    // And tasklane keeps working: the running task settles, the waiting one runs, a new one runs.
    release()
    expect(await tasks.waitFor(running)).toMatchObject({ status: 'completed', result: 'released' })
    expect(await tasks.waitFor(waiting)).toMatchObject({ status: 'completed', result: { n: 3 } })
    const { taskId: after } = await tasks.addTask(echo, { n: 4 })
    expect(await tasks.waitFor(after)).toMatchObject({ status: 'completed', result: { n: 4 }, attempts: 1 })
  })

  it("a job sent with pg-boss's send() whose data is { task, args } naming a task of that queue runs as that task", async () => {
    const id = await boss().send('coexist', { task: 'echo', args: { n: 5 } })
    expect(id).toEqual(expect.any(String))
    expect(await tasks.waitFor(id!)).toMatchObject({
      taskId: id,
      task: 'echo',
      queue: 'coexist',
      status: 'completed',
      result: { n: 5 },
      attempts: 1,
    })
    // Recorded like any task: its history row is what getTask read.
    const { rows } = await db.query(`select task, status from tasklane.task_history where task_id = $1`, [id])
    expect(rows).toEqual([{ task: 'echo', status: 'completed' }])
  })

  // pg-boss's send gives the job its queue's retry budget (2 retries, spent by the last test): a job no
  // attempt can run fails on its first, and its error says what was wrong and what to do.
  it.each([
    [
      'data without a task name',
      { n: 6 },
      /names no task: .*data is \{ task: '<task name>', args \}.*on queue 'coexist'/,
    ],
    ['a task name that is not a string', { task: 42, args: {} }, /names no task/],
    [
      "a task of another queue ('far' runs on 'elsewhere')",
      { task: 'far', args: {} },
      /task 'far' runs on queue 'elsewhere', but this job is in queue 'coexist'/,
    ],
  ])('a job sent with pg-boss send() carrying %s fails at once, saying why', async (_, data, message) => {
    const id = await boss().send('coexist', data)
    const info = await tasks.waitFor(id!)
    expect(info).toMatchObject({ status: 'failed', attempts: 1, error: { retryable: false } })
    expect(info.error?.message).toMatch(message)
  })

  it('a job naming a task no process here defines is retried (a worker of another release may know it), then fails naming the task', async () => {
    const id = await boss().send('coexist', { task: 'nowhere', args: {} })
    const info = await tasks.waitFor(id!)
    expect(info).toMatchObject({ status: 'failed', attempts: 3, error: { retryable: true } })
    expect(info.error?.message).toMatch(/no task named 'nowhere' is registered in this worker process/)
  })
})
