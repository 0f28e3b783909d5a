import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'

// Text from task code reaches the database intact or is refused clearly — never dropped with a
// warning (issue 15, kind 2). Steps PostgreSQL cannot store are refused, failing the attempt with the
// reason (issue 19 made that the rule for every outcome); error text is stored escaped.

// Args cannot carry these characters (they are refused at enqueue), so the task makes them.
const TEXT = { nul: 'a\u0000b', surrogate: 'x\ud800y', plain: 'ok' } as const
type Kind = keyof typeof TEXT

const reporter = defineTask({
  name: 'reporter',
  retry: { limit: 0 },
  async run(args: { step: Kind; fail?: Kind }, ctx) {
    await ctx.progress(40, TEXT[args.step])
    if (args.fail !== undefined) throw new Error(`bad ${TEXT[args.fail]} news`)
    return null
  },
})

describe('text from task code is stored or refused, never dropped', () => {
  let db: TestDatabase
  let tasks: Tasklane

  beforeAll(async () => {
    db = await createTestDatabase()
    tasks = await startTasklane(db.url, [reporter], { workers: 1 })
  })
  afterAll(async () => {
    await tasks?.stop()
    await db?.drop()
  })

  it("refuses ctx.progress(40, 'a\\u0000b'): the attempt fails saying why", async () => {
    const { taskId } = await tasks.addTask(reporter, { step: 'nul' })
    const info = await tasks.waitFor(taskId, { timeout: '20s' })
    expect(info.status).toBe('failed')
    expect(info.error).toMatchObject({ type: 'OutcomeNotStored', retryable: false })
    expect(info.error!.message).toMatch(/ctx\.progress step contains a NUL character/)
  })

  it('refuses a step with an unpaired surrogate the same way', async () => {
    const { taskId } = await tasks.addTask(reporter, { step: 'surrogate' })
    const info = await tasks.waitFor(taskId, { timeout: '20s' })
    expect(info.error!.message).toMatch(/ctx\.progress step contains an unpaired UTF-16 surrogate/)
  })

  it('stores a storable step with its event, stamped on the database clock', async () => {
    const events = tasks.events()
    const { taskId } = await tasks.addTask(reporter, { step: 'plain' })
    let at: string | undefined
    for await (const ev of events) {
      if (ev.type === 'progress' && ev.taskId === taskId) {
        expect(ev.step).toBe('ok')
        at = ev.at
        break
      }
    }
    await events.return(undefined)
    await tasks.waitFor(taskId, { timeout: '20s' })
    const { rows } = await db.query('select updated_at from tasklane.task_progress where task_id = $1', [
      taskId,
    ])
    expect(rows[0].updated_at.toISOString()).toBe(at)
  })

  it('stores an error message with its NUL written out', async () => {
    const { taskId } = await tasks.addTask(reporter, { step: 'plain', fail: 'nul' })
    const info = await tasks.waitFor(taskId, { timeout: '20s' })
    expect(info.error).toMatchObject({ type: 'Error', message: 'bad a\\u0000b news' })
  })
})
