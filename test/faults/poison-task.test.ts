import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FaultPostgres, startFaultPostgres } from './support/fault-postgres.ts'
import { Fleet, request } from './support/fleet.ts'
import { report, waitUntil } from './support/wait.ts'

// Scenario 6: a task that always throws. Policy: retry { limit: 2, delay: '1s', backoff: 'exponential' },
// deadLetter 'fault-dlq'. It must get exactly 3 attempts with growing delays, end `failed` with its
// error, parked for the dead-letter queue (marked and listed, with no copy in that queue to run it
// again), not disturb the tasks around it, and run again (and succeed, once healed) when retried by
// hand over HTTP.
const OTHERS = 30

interface AttemptRow {
  attempt: number
  outcome: string
  error: { message: string }
  started_at: Date
  finished_at: Date
}

describe('fault scenario 6: poison task', () => {
  let pg: FaultPostgres
  let fleet: Fleet

  beforeAll(async () => {
    pg = await startFaultPostgres()
    fleet = new Fleet({ DATABASE_URL: pg.url, TASKLANE_WORKERS: '4' })
  })
  afterAll(async () => {
    await fleet?.killAll()
    await pg?.destroy()
  })

  it('is retried with backoff, then failed and dead-lettered; others unaffected; manual retry works', async () => {
    const api = await fleet.serve()
    const enqueue = (name: string, args: unknown) =>
      request(`${api.baseUrl}/tasks/${name}`, { body: { args } })
    const poisoned = await enqueue('poison', {})
    expect(poisoned.status).toBe(202)
    const poisonId = poisoned.body.taskId as string
    const others = await Promise.all(Array.from({ length: OTHERS }, (_, n) => enqueue('record', { n })))
    expect(others.every((a) => a.status === 202)).toBe(true)
    const otherIds = others.map((a) => a.body.taskId as string)

    const final = await waitUntil(
      'the poison task to fail for good',
      async () => (await request(`${api.baseUrl}/tasks/${poisonId}`, { method: 'GET' })).body,
      (info) => info?.status === 'failed',
      { timeoutMs: 60_000, everyMs: 200 },
    )
    expect(final).toMatchObject({
      attempts: 3,
      maxAttempts: 3,
      deadLetter: 'fault-dlq',
      error: { type: 'Error', retryable: true },
    })
    expect(final.error.message).toMatch(/^poison: attempt 3 fails/)

    const attempts = (
      await pg.query<AttemptRow>(
        'select attempt, outcome, error, started_at, finished_at from tasklane.task_attempt where task_id = $1 order by attempt',
        [poisonId],
      )
    ).rows
    expect(attempts.map((a) => [a.attempt, a.outcome])).toEqual([
      [1, 'failed'],
      [2, 'failed'],
      [3, 'failed'],
    ])
    // pg-boss's exponential backoff with delay 1 s: [1, 2) s before the 2nd attempt, [2, 4) s before the 3rd.
    const gaps = [1, 2].map((i) => attempts[i]!.started_at.getTime() - attempts[i - 1]!.finished_at.getTime())
    expect(gaps[0]).toBeGreaterThanOrEqual(950)
    expect(gaps[1]).toBeGreaterThanOrEqual(1_950)
    const runs = await pg.query(`select count(*)::int as n from public.fault_exec where task_id = $1`, [
      poisonId,
    ])
    expect(runs.rows[0].n).toBe(3)

    // Parked, not copied: nothing in the dead-letter queue runs it again.
    const copies = await pg.query(`select data from pgboss.job where name = 'fault-dlq'`)
    expect(copies.rows).toEqual([])
    const dead = await request(`${api.baseUrl}/tasks?deadLettered=true`, { method: 'GET' })
    expect(dead.body.items.map((t: { taskId: string }) => t.taskId)).toEqual([poisonId])

    await waitUntil(
      `${OTHERS} other tasks completed`,
      async () =>
        (
          await pg.query<{ attempts: number }>(
            `select attempts from tasklane.task_history where task_id = any($1::uuid[]) and status = 'completed'`,
            [otherIds],
          )
        ).rows,
      (rows) => rows.length === OTHERS && rows.every((r) => r.attempts === 1),
      { timeoutMs: 60_000 },
    )

    // Manual retry: a failed task runs again; retrying a completed one is a conflict.
    await pg.query(`insert into public.fault_flag (name) values ('heal')`)
    const retried = await request(`${api.baseUrl}/tasks/${poisonId}/retry`, {})
    expect(retried.status).toBe(200)
    expect(retried.body.taskId).toBe(poisonId)
    expect(['queued', 'retrying', 'running', 'completed']).toContain(retried.body.status)
    const healed = await waitUntil(
      'the retried task to complete',
      async () => (await request(`${api.baseUrl}/tasks/${poisonId}`, { method: 'GET' })).body,
      (info) => info?.status === 'completed',
      { timeoutMs: 60_000, everyMs: 200 },
    )
    expect(healed.result).toMatchObject({ healed: true })
    expect(healed.deadLetter).toBeUndefined()
    const again = await request(`${api.baseUrl}/tasks/${poisonId}/retry`, {})
    expect(again.status).toBe(409)
    expect(again.body.error.code).toBe('state_conflict')
    const history = await pg.query('select status, attempts from tasklane.task_history where task_id = $1', [
      poisonId,
    ])
    expect(history.rows).toEqual([{ status: 'completed', attempts: healed.attempts }])
    report('6 poison task', {
      attempts: attempts.length,
      backoffGapsMs: gaps,
      deadLettered: dead.body.items.length,
      othersCompletedFirstTry: OTHERS,
      manualRetry: { status: retried.status, outcome: healed.status, attempts: healed.attempts },
    })
  }, 600_000)

  it('records an outcome PostgreSQL cannot store as it is, without re-running the task', async () => {
    const api = fleet.processes.find((p) => p.baseUrl !== '' && p.alive()) ?? (await fleet.serve())
    const enqueue = async (mode: string) =>
      (await request(`${api.baseUrl}/tasks/unstorable`, { body: { args: { mode } } })).body.taskId as string
    const [resultId, errorId] = [await enqueue('result'), await enqueue('error')]
    const final = async (id: string) =>
      waitUntil(
        'the unstorable task to finish',
        async () => (await request(`${api.baseUrl}/tasks/${id}`, { method: 'GET' })).body,
        (info) => info?.status === 'failed' || info?.status === 'completed',
        { timeoutMs: 60_000, everyMs: 200 },
      )
    const badResult = await final(resultId)
    const badError = await final(errorId)
    // A result that cannot be stored fails the task at once, saying why.
    expect(badResult).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: { type: 'NonRetryableError', retryable: false },
    })
    expect(badResult.error.message).toMatch(/cannot be stored: result\.text contains a NUL character/)
    // An error message with a NUL byte is recorded (escaped) and retried per policy, not lost.
    expect(badError).toMatchObject({ status: 'failed', attempts: 2, error: { type: 'Error' } })
    expect(badError.error.message).toBe('bad byte \\u0000 in an error message')
    const runs = await pg.query<{ task_id: string; n: number }>(
      'select task_id, count(*)::int as n from public.fault_exec where task_id = any($1::uuid[]) group by task_id',
      [[resultId, errorId]],
    )
    expect(Object.fromEntries(runs.rows.map((r) => [r.task_id, r.n]))).toEqual({
      [resultId]: 1,
      [errorId]: 2,
    })
    report('6b unstorable outcome', {
      resultAttempts: badResult.attempts,
      errorAttempts: badError.attempts,
      errorRecorded: badError.error.message,
    })
  }, 300_000)
})
