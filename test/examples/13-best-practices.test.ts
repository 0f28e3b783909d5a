import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConnectionError, createExampleApp, createTasks } from '../../examples/13-best-practices.ts'
import { type ExampleRun, runExample } from './example-harness.ts'

describe('example 13: task design guidelines', () => {
  const sent: string[] = []
  let calls = 0
  const tasks = createTasks({
    emailAlreadySent: async (userId) => sent.includes(`${userId}@example.com`),
    sendEmail: async (email) => {
      sent.push(email)
    },
    fetchUrl: async () => {
      if (++calls === 1) throw new ConnectionError('connection reset')
      return { json: async () => ({ ok: true }) }
    },
  })
  let ex: ExampleRun
  beforeAll(async () => {
    ex = await runExample(tasks, (t) => createExampleApp(t, tasks))
  })
  afterAll(() => ex?.close())

  it('POST /good-task runs a stateless task', async () => {
    const { body } = await ex.post('/good-task')
    expect(body).toEqual({ task_id: expect.any(String) })
    expect((await ex.tasklane.waitFor(body.task_id)).result).toEqual({ processed: 11, result: 'SAMPLE DATA' })
  })

  it('an idempotency key makes a repeated request the same task; the task itself is safe to rerun', async () => {
    const first = (await ex.post('/welcome-email/u1')).body
    const again = (await ex.post('/welcome-email/u1')).body
    expect(first.deduplicated).toBe(false)
    expect(again).toEqual({ task_id: first.task_id, deduplicated: true })
    expect((await ex.tasklane.waitFor(first.task_id)).result).toEqual({ email_sent: true })
    // Run it again (as at-least-once delivery may, after a worker is lost mid-task): still one email.
    const rerun = await ex.tasklane.addTask(tasks.idempotentTask, { user_id: 'u1', email: 'u1@example.com' })
    await ex.tasklane.waitFor(rerun.taskId)
    expect(sent).toEqual(['u1@example.com'])
  })

  it('retries a connection error, but not invalid input', async () => {
    const fast = { retry: { limit: 3, delay: 0, backoff: 'fixed' as const } }
    const ok = await ex.tasklane.addTask(tasks.robustTask, { url: 'https://example.com/data' }, fast)
    expect(await ex.tasklane.waitFor(ok.taskId)).toMatchObject({
      status: 'completed',
      attempts: 2,
      result: { data: { ok: true } },
    })
    const bad = await ex.tasklane.addTask(tasks.robustTask, { url: 'not a url' }, fast)
    expect(await ex.tasklane.waitFor(bad.taskId)).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: { type: 'NonRetryableError', retryable: false },
    })
  })
})
