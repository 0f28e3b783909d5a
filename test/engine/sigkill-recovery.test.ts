import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Tasklane } from '../../src/tasklane.ts'
import { type Child, spawnTs } from '../support/child-process.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'
import { fixtureTasks, hold } from './fixtures/fixture-tasks.ts'

const WORKER = 'test/engine/fixtures/worker-process.ts'

describe('a worker process killed with SIGKILL', () => {
  let db: TestDatabase
  let producer: Tasklane
  const children: Child[] = []

  beforeAll(async () => {
    db = await createTestDatabase()
    await db.query('create table executions (task_id uuid not null, attempt int not null, pid int not null)')
    // The producer supervises (pg-boss's monitor notices lapsed heartbeats) and runs no workers.
    producer = await startTasklane(db.url, fixtureTasks, {
      workers: 0,
      env: { TASKLANE_HEARTBEAT_TIMEOUT: '5s' },
    })
  })
  afterAll(async () => {
    for (const c of children) c.proc.kill('SIGKILL')
    await producer?.stop()
    await db?.drop()
  })

  it('has its tasks run again elsewhere after the heartbeat timeout, each outcome recorded once', async () => {
    const env = {
      DATABASE_URL: db.url,
      TASKLANE_HEARTBEAT_TIMEOUT: '5s',
      TASKLANE_WORKERS: '20',
      TASKLANE_POLL_INTERVAL: '200ms',
    }
    const first = spawnTs(WORKER, env)
    children.push(first)
    await first.waitForLine(/^ready$/)
    // Attempt 1 holds for a minute (it will be killed); later attempts finish at once.
    const queued = await producer.addTasks(
      hold,
      Array.from({ length: 20 }, () => ({ ms: 60_000 })),
    )
    await first.waitForLines(/^running /, 20)
    first.proc.kill('SIGKILL')
    await first.exited
    const second = spawnTs(WORKER, env)
    children.push(second)
    await second.waitForLine(/^ready$/)
    // Recovery waits out the 5 s heartbeat timeout and a supervisor pass; no bound on how long a
    // loaded machine takes beyond that: waitFor's timeout is the failure detector.
    const infos = await Promise.all(queued.map((q) => producer.waitFor(q.taskId, { timeout: '90s' })))
    expect(infos.map((i) => i.status)).toEqual(queued.map(() => 'completed'))
    const history = await db.query(
      `select task_id, count(*)::int as n from tasklane.task_history group by task_id`,
    )
    expect(history.rows).toHaveLength(20)
    expect(history.rows.every((r) => r.n === 1)).toBe(true)
    const runs = await db.query(
      `select task_id, array_agg(pid order by attempt) as pids from executions group by task_id`,
    )
    expect(runs.rows).toHaveLength(20)
    for (const r of runs.rows) {
      expect(r.pids).toEqual([first.proc.pid, second.proc.pid])
    }
    // The attempt that died with its worker is in the attempt history, as lost.
    const lost = await db.query(`select attempt, outcome, error->>'type' as type from tasklane.task_attempt`)
    expect(lost.rows).toHaveLength(20)
    expect(lost.rows.every((r) => r.attempt === 1 && r.outcome === 'lost' && r.type === 'WorkerLost')).toBe(
      true,
    )
    second.proc.kill('SIGTERM')
    expect((await second.exited).code).toBe(0)
  }, 600_000)

  it('puts back the tasks it had leased but not started, without spending an attempt, even the last', async () => {
    await db.query('truncate executions')
    const env = {
      DATABASE_URL: db.url,
      TASKLANE_HEARTBEAT_TIMEOUT: '5s',
      TASKLANE_WORKERS: '1',
      TASKLANE_POLL_INTERVAL: '200ms',
      TEST_PREFETCH: '4',
    }
    const first = spawnTs(WORKER, env)
    children.push(first)
    await first.waitForLine(/^ready$/)
    // No retries: a claim charged for an attempt would fail for good. One slot, four leased ahead:
    // one lease takes all three, runs the first (it holds), buffers the other two (they would finish
    // at once, had they started).
    const [running, ...buffered] = await producer.addTasks(hold, [{ ms: 60_000 }, { ms: 10 }, { ms: 10 }], {
      retry: { limit: 0 },
    })
    await first.waitForLine(new RegExp(`^running ${running!.taskId}$`))
    const claims = await db.query(
      `select id, state, started_on is not null as started from pgboss.job where id = any($1) order by id`,
      [buffered.map((t) => t.taskId)],
    )
    expect(claims.rows.map((r) => [r.state, r.started])).toEqual([
      ['active', false],
      ['active', false],
    ])
    first.proc.kill('SIGKILL')
    await first.exited
    const second = spawnTs(WORKER, env)
    children.push(second)
    await second.waitForLine(/^ready$/)
    // pg-boss's monitor fails every lapsed claim; the second worker's heartbeat puts the two that
    // never started back in the queue, and runs them as their first attempt.
    const infos = await Promise.all(buffered.map((q) => producer.waitFor(q.taskId, { timeout: '90s' })))
    expect(infos.map((i) => [i.status, i.attempts])).toEqual([
      ['completed', 1],
      ['completed', 1],
    ])
    const runs = await db.query(
      `select task_id, array_agg(attempt order by attempt) as attempts, array_agg(pid) as pids
       from executions where task_id = any($1) group by task_id`,
      [buffered.map((t) => t.taskId)],
    )
    expect(runs.rows.map((r) => [r.attempts, r.pids])).toEqual([
      [[1], [second.proc.pid]],
      [[1], [second.proc.pid]],
    ])
    const lost = await db.query(
      `select count(*)::int as n from tasklane.task_attempt where task_id = any($1)`,
      [buffered.map((t) => t.taskId)],
    )
    expect(lost.rows[0].n).toBe(0)
    // The one that was running spent its only attempt: failed, worker lost.
    const killed = await producer.waitFor(running!.taskId, { timeout: '90s' })
    expect(killed).toMatchObject({ status: 'failed', attempts: 1, error: { type: 'WorkerLost' } })
    second.proc.kill('SIGTERM')
    expect((await second.exited).code).toBe(0)
  }, 600_000)
})
