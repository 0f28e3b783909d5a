import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FaultPostgres, startFaultPostgres } from './support/fault-postgres.ts'
import { Fleet, type HttpAnswer, request } from './support/fleet.ts'
import { report, waitUntil } from './support/wait.ts'

// Scenario 9: 50 concurrent requests over real HTTP carrying one Idempotency-Key (half as the header,
// half as idempotencyKey in the body) make exactly one task: one 202, 49 × 200 deduplicated, one
// taskId, one job, one execution. The same key with a different body is a 409 and writes nothing.
const CONCURRENT = 50
const ROUNDS = 3

describe('fault scenario 9: idempotency race over HTTP', () => {
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

  it('makes one task of 50 concurrent requests with one key; a different body with that key is 409', async () => {
    const api = await fleet.serve()
    const url = `${api.baseUrl}/tasks/record`
    const taskIds: string[] = []
    let unavailable = 0
    for (let round = 0; round < ROUNDS; round++) {
      const key = `order-${randomUUID()}`
      const args = { n: round }
      const send = (i: number) =>
        i % 2 === 0
          ? request(url, { body: { args }, headers: { 'idempotency-key': key } })
          : request(url, { body: { args, idempotencyKey: key } })
      let answers: HttpAnswer[] = await Promise.all(Array.from({ length: CONCURRENT }, (_, i) => send(i)))
      // 50 requests at once may wait longer for one of serve's pooled connections than the pool's
      // checkout timeout on a loaded machine: such a request is answered 503 + Retry-After and writes
      // nothing, and a client sends it again, as these do (at once: the wait is not what is tested).
      for (let retry = 0; retry < 10 && answers.some((a) => a.status === 503); retry++) {
        const refused = answers.filter((a) => a.status === 503)
        unavailable += refused.length
        expect(refused.every((a) => Number(a.retryAfter) > 0)).toBe(true)
        answers = await Promise.all(answers.map((a, i) => (a.status === 503 ? send(i) : a)))
      }
      const byStatus = Object.groupBy(answers, (a) => String(a.status))
      expect(Object.keys(byStatus).sort()).toEqual(['200', '202'])
      expect(byStatus['202']).toHaveLength(1)
      expect(byStatus['200']).toHaveLength(CONCURRENT - 1)
      expect(byStatus['200']!.every((a) => a.body.deduplicated === true)).toBe(true)
      const ids = new Set(answers.map((a) => a.body.taskId))
      expect(ids.size).toBe(1)
      const [taskId] = ids
      taskIds.push(taskId)

      const conflict = await request(url, {
        body: { args: { n: round, other: true } },
        headers: { 'idempotency-key': key },
      })
      expect(conflict.status).toBe(409)
      expect(conflict.body.error.code).toBe('idempotency_conflict')
      const samePriorityChanged = await request(url, {
        body: { args, priority: 'high', idempotencyKey: key },
      })
      expect(samePriorityChanged.status).toBe(409)
      const jobs = await pg.query(
        `select count(*)::int as n from pgboss.job j join tasklane.idempotency_key k on k.task_id = j.id where k.key = $1`,
        [key],
      )
      expect(jobs.rows[0].n).toBe(1)
    }
    const all = await pg.query(`select count(*)::int as n from pgboss.job where name = 'default'`)
    expect(all.rows[0].n).toBe(ROUNDS)

    await waitUntil(
      `${ROUNDS} tasks completed`,
      async () =>
        Number(
          (
            await pg.query(
              `select count(*) as n from tasklane.task_history where task_id = any($1::uuid[]) and status = 'completed'`,
              [taskIds],
            )
          ).rows[0].n,
        ),
      (n) => n === ROUNDS,
      { timeoutMs: 60_000 },
    )
    const runs = await pg.query('select count(*)::int as n from public.fault_exec')
    expect(runs.rows[0].n).toBe(ROUNDS)
    report('9 idempotency race', {
      rounds: ROUNDS,
      concurrentPerRound: CONCURRENT,
      tasksCreated: ROUNDS,
      conflictsAnswered409: ROUNDS * 2,
      answered503ThenRetried: unavailable,
    })
  }, 300_000)
})
