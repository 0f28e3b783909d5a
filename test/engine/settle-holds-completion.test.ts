import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'

// A finished attempt waits for its group-committed settle holding its completion alone. Anything
// more (its signal, its task context, the closures of the attempt) outlives young-generation
// collections at thousands of tasks a second, is promoted, and grows the worker's heap
// (docs/benchmarks.md, Memory). The settle is held open here by a row lock, so "while it waits" is
// not a matter of timing.
setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

let signal: WeakRef<AbortSignal> | undefined
let started: () => void = () => {}
const running = new Promise<void>((r) => {
  started = r
})
let finish: () => void = () => {}
const mayFinish = new Promise<void>((r) => {
  finish = r
})

const quick = defineTask({
  name: 'quick',
  async run(_args: unknown, ctx) {
    signal = new WeakRef(ctx.signal)
    started()
    await mayFinish
    return 'done'
  },
})

describe('a finished attempt waiting for its settle', () => {
  let db: TestDatabase
  let tasks: Tasklane
  let locker: pg.Client

  beforeAll(async () => {
    db = await createTestDatabase()
    tasks = await startTasklane(db.url, [quick], { workers: 1, supervise: false })
    locker = new pg.Client({ connectionString: db.url })
    await locker.connect()
  })
  afterAll(async () => {
    await locker?.end()
    await tasks?.stop()
    await db?.drop()
  })

  it('no longer holds its signal (nor the attempt around it) while the settle is blocked', async () => {
    const { taskId } = await tasks.addTask(quick, {})
    await running
    // The completion's UPDATE of the job row waits for this lock.
    await locker.query('begin')
    await locker.query('select id from pgboss.job where id = $1 for update', [taskId])
    finish()
    await expect
      .poll(async () => {
        const { rows } = await db.query(
          `select count(*)::int as n from pg_locks l join pg_stat_activity a using (pid)
           where not l.granted and a.datname = current_database()`,
        )
        return rows[0].n
      })
      .toBeGreaterThan(0)
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setImmediate(r))
      gc()
    }
    expect((await tasks.getTask(taskId))?.status).toBe('running')
    expect(signal?.deref()).toBeUndefined()
    await locker.query('commit')
    await expect.poll(async () => (await tasks.getTask(taskId))?.status).toBe('completed')
  })
})
