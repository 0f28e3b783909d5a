import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tasklaneRoutes } from '../../src/http/routes.ts'
import type { Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'

// Issue 19, kind 5: a failure recorded as something else, or not at all.
const emptyMessage = defineTask({
  name: 'empty-message',
  retry: { limit: 0 },
  run() {
    throw new Error()
  },
})
class QuotaExceeded extends Error {}
const subclassed = defineTask({
  name: 'subclassed',
  retry: { limit: 0 },
  run() {
    throw new QuotaExceeded('over quota')
  },
})
const hugeResult = defineTask({
  name: 'huge-result',
  retry: { limit: 3, delay: 0 },
  // 300 MiB of one string: more than a jsonb value can hold (2^28 − 1 bytes).
  run: () => ({ s: 'x'.repeat(300 * 1024 * 1024) }),
})
const refusedResult = defineTask({
  name: 'refused-result',
  retry: { limit: 3, delay: 0 },
  run: (args: { poison: boolean }) => (args.poison ? { poison: true } : { fine: true }),
})
class Poison extends Error {
  override name = 'Poison'
}
const refusedError = defineTask({
  name: 'refused-error',
  retry: { limit: 3, delay: 0 },
  run() {
    throw new Poison('cannot be recorded as is')
  },
})
const badStep = defineTask({
  name: 'bad-step',
  retry: { limit: 3, delay: 0 },
  async run(_args, ctx) {
    // The task swallows the error: the attempt still fails, since its progress cannot be stored.
    await ctx.progress(10, 'nul \u0000 inside').catch(() => {})
    await new Promise((r) => setTimeout(r, 50))
    return 'finished anyway'
  },
})

describe('failures are recorded as they happened', () => {
  let db: TestDatabase
  let tasks: Tasklane

  beforeAll(async () => {
    db = await createTestDatabase()
    // Real refusals from the database: triggers that raise, as a constraint or a size limit would.
    await db.query(`
      create function public.refuse_poison() returns trigger language plpgsql as $$
      begin
        if new.result ? 'poison' then raise exception 'result refused by policy'; end if;
        return new;
      end $$;
      create trigger refuse_poison before insert on tasklane.task_history
        for each row execute function public.refuse_poison();
      create function public.refuse_poison_error() returns trigger language plpgsql as $$
      begin
        if new.error->>'type' = 'Poison' then raise exception 'error record refused by policy'; end if;
        return new;
      end $$;
      create trigger refuse_poison_error before insert on tasklane.task_attempt
        for each row execute function public.refuse_poison_error();`)
    tasks = await startTasklane(
      db.url,
      [emptyMessage, subclassed, hugeResult, refusedResult, refusedError, badStep],
      { workers: 2 },
    )
  })
  afterAll(async () => {
    await tasks?.stop()
    await db?.drop()
  })

  it('throw new Error() shows an error with its type, in TaskInfo and GET /tasks/:id', async () => {
    const { taskId } = await tasks.addTask(emptyMessage, {})
    const info = await tasks.waitFor(taskId)
    expect(info.status).toBe('failed')
    expect(info.error).toMatchObject({ type: 'Error', message: '', retryable: true })
    const res = await tasklaneRoutes(tasks).request(`/tasks/${taskId}`)
    expect(res.status).toBe(200)
    expect(((await res.json()) as { error: unknown }).error).toMatchObject({
      type: 'Error',
      message: '',
      retryable: true,
    })
  })

  it('a subclass of Error is recorded by its class name', async () => {
    const { taskId } = await tasks.addTask(subclassed, {})
    const info = await tasks.waitFor(taskId)
    expect(info.error).toMatchObject({ type: 'QuotaExceeded', message: 'over quota' })
  })

  it('a 300 MiB result fails its attempt at once, non-retryably, with the reason', async () => {
    const { taskId } = await tasks.addTask(hugeResult, {})
    const info = await tasks.waitFor(taskId, { timeout: '60s' })
    expect(info.status).toBe('failed')
    expect(info.attempts).toBe(1)
    expect(info.startedAt).not.toBeNull()
    expect(info.error).toMatchObject({ type: 'OutcomeNotStored', retryable: false })
    expect(info.error!.message).toMatch(/larger than PostgreSQL can store/)
  }, 90_000)

  it('a result the database refuses fails that task only, with the database reason', async () => {
    const [bad, good] = await tasks.addTasks(refusedResult, [{ poison: true }, { poison: false }])
    const [badInfo, goodInfo] = await Promise.all([tasks.waitFor(bad!.taskId), tasks.waitFor(good!.taskId)])
    expect(goodInfo).toMatchObject({ status: 'completed', result: { fine: true } })
    expect(badInfo).toMatchObject({ status: 'failed', attempts: 1 })
    expect(badInfo.error).toMatchObject({ type: 'OutcomeNotStored', retryable: false })
    expect(badInfo.error!.message).toMatch(/result could not be stored: result refused by policy/)
  })

  it('an error record the database refuses is replaced by one naming why, and the task stops', async () => {
    const { taskId } = await tasks.addTask(refusedError, {})
    const info = await tasks.waitFor(taskId)
    expect(info).toMatchObject({ status: 'failed', attempts: 1 })
    expect(info.error).toMatchObject({ type: 'OutcomeNotStored', retryable: false })
    expect(info.error!.message).toMatch(
      /error could not be stored: error record refused by policy \(it was Poison: cannot be recorded as is\)/,
    )
  })

  it('a progress step that cannot be stored fails the attempt, even when the task catches it', async () => {
    const { taskId } = await tasks.addTask(badStep, {})
    const info = await tasks.waitFor(taskId)
    expect(info).toMatchObject({ status: 'failed', attempts: 1 })
    expect(info.error).toMatchObject({ type: 'OutcomeNotStored', retryable: false })
    expect(info.error!.message).toMatch(/ctx.progress step contains a NUL character/)
  })
})
