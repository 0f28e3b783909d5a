import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Tasklane } from '../../src/tasklane.ts'
import { hold } from './fixtures/fault-tasks.ts'
import { startFaultCluster, stopFaultCluster } from './support/cluster.ts'
import type { FaultPostgres } from './support/fault-postgres.ts'
import type { Fleet } from './support/fleet.ts'
import { report, since, waitUntil } from './support/wait.ts'

// Scenario 2: a worker process dies with SIGKILL while it runs 100 tasks. Nothing of it remains to
// hand anything back: only the lapsed heartbeats of its claims bring the tasks back, and the worker
// started afterwards (the only live process, so its own supervisor finds them) runs them.
const TASKS = 100
const HEARTBEAT_TIMEOUT_MS = 5_000

describe('fault scenario 2: SIGKILL of a worker process mid-task', () => {
  let pg: FaultPostgres
  let fleet: Fleet
  let producer: Tasklane

  beforeAll(async () => {
    // Enqueues only: no workers, no supervisor (recovery must come from the worker processes).
    ;({ pg, fleet, producer } = await startFaultCluster({ TASKLANE_WORKERS: String(TASKS) }))
  })
  afterAll(() => stopFaultCluster({ pg, fleet, producer }))

  it('runs all 100 again after the heartbeat timeout, each outcome recorded once', async () => {
    const first = await fleet.worker()
    const queued = await producer.addTasks(
      hold,
      Array.from({ length: TASKS }, () => ({ ms: 120_000 })),
    )
    await first.waitForLines(/^running /, TASKS)
    first.proc.kill('SIGKILL')
    await first.exited
    const killedAt = Date.now()
    const second = await fleet.worker()
    const secondReadyMs = since(killedAt)

    const ids = queued.map((q) => q.taskId)
    await waitUntil(
      `${TASKS} completed outcomes`,
      async () =>
        Number(
          (
            await pg.query(
              `select count(*) as n from tasklane.task_history where task_id = any($1::uuid[]) and status = 'completed'`,
              [ids],
            )
          ).rows[0].n,
        ),
      (n) => n === TASKS,
      // Recovery waits out the heartbeat timeout, then a supervisor pass; how long after the kill it
      // took is reported, not asserted (a loaded machine adds seconds to both).
      { timeoutMs: 60_000, whileProgressing: true },
    )
    const recoveredMs = since(killedAt)

    const history = await pg.query(
      `select count(*)::int as rows, count(distinct task_id)::int as tasks,
              count(*) filter (where attempts = 2)::int as second_attempt
       from tasklane.task_history where task_id = any($1::uuid[])`,
      [ids],
    )
    expect(history.rows[0]).toEqual({ rows: TASKS, tasks: TASKS, second_attempt: TASKS })
    const runs = await pg.query<{ task_id: string; runs: { pid: number; attempt: number }[] }>(
      `select task_id, json_agg(json_build_object('pid', pid, 'attempt', attempt) order by attempt) as runs
       from public.fault_exec group by task_id`,
    )
    expect(runs.rows).toHaveLength(TASKS)
    for (const r of runs.rows) {
      expect(r.runs).toEqual([
        { pid: first.pid, attempt: 1 },
        { pid: second.pid, attempt: 2 },
      ])
    }
    const active = await pg.query(`select count(*)::int as n from pgboss.job where state = 'active'`)
    expect(active.rows[0].n).toBe(0)
    report('2 sigkill', {
      tasks: TASKS,
      heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS,
      secondWorkerReadyMs: secondReadyMs,
      allCompletedAfterKillMs: recoveredMs,
    })

    second.proc.kill('SIGTERM')
    expect(await second.exited).toEqual({ code: 0, signal: null })
  }, 600_000)

  // Known bug, reported (src/worker/heartbeat.ts): a job carries the heartbeat timeout of the process
  // that enqueued it (5 s here), but a worker touches its claims every third of its *own* timeout
  // (30 s → every 10 s). pg-boss then fails healthy attempts for missed heartbeats and runs them
  // again: every task longer than ~5 s runs twice (or until its retries are spent, ending "worker
  // lost"). Flip to it() once the worker beats at a third of the shortest heartbeat it holds.
  it("runs a healthy task once on a worker whose heartbeat setting is longer than the enqueuer's", async () => {
    const worker = await fleet.worker({ TASKLANE_HEARTBEAT_TIMEOUT: '30s' })
    const { taskId } = await producer.addTask(hold, { ms: 12_000 })
    const info = await producer.waitFor(taskId, { timeout: '40s' })
    worker.proc.kill('SIGTERM')
    await worker.exited
    const runs = await pg.query('select count(*)::int as n from public.fault_exec where task_id = $1', [
      taskId,
    ])
    report('2b heartbeat mismatch', { attempts: info.attempts, executions: runs.rows[0].n })
    expect({ attempts: info.attempts, executions: runs.rows[0].n }).toEqual({ attempts: 1, executions: 1 })
  }, 300_000)
})
