import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Tasklane } from '../../src/tasklane.ts'
import { hold } from './fixtures/fault-tasks.ts'
import { startFaultCluster, stopFaultCluster } from './support/cluster.ts'
import type { FaultPostgres } from './support/fault-postgres.ts'
import type { Fleet } from './support/fleet.ts'
import { report, since, waitUntil } from './support/wait.ts'

// Scenario 3: SIGTERM while short and long tasks run. Short ones finish within the shutdown timeout;
// long ones are aborted at the timeout and handed back with their attempt unspent; the process exits 0
// and no job is left `active`. A later worker runs the handed-back tasks as their first attempt.
const SHORT = 10
const LONG = 10
/** What a long task would hold for: the drain must end long before (it aborts them at the timeout). */
const LONG_MS = 120_000
/**
 * 8 s for short tasks of 0.8 s: the rest is margin for settling them (a database write each) on a
 * loaded 2-core machine, where 2 s of margin was not always enough.
 */
const SHUTDOWN_TIMEOUT_MS = 8_000

describe('fault scenario 3: graceful drain on SIGTERM', () => {
  let pg: FaultPostgres
  let fleet: Fleet
  let producer: Tasklane

  beforeAll(async () => {
    ;({ pg, fleet, producer } = await startFaultCluster({
      TASKLANE_WORKERS: '40',
      TASKLANE_SHUTDOWN_TIMEOUT: `${SHUTDOWN_TIMEOUT_MS}ms`,
    }))
  })
  afterAll(() => stopFaultCluster({ pg, fleet, producer }))

  it('finishes short tasks, hands long ones back unspent, exits 0, leaves nothing active', async () => {
    const worker = await fleet.worker()
    const short = await producer.addTasks(
      hold,
      Array.from({ length: SHORT }, () => ({ ms: 800 })),
    )
    const long = await producer.addTasks(
      hold,
      Array.from({ length: LONG }, () => ({ ms: LONG_MS })),
    )
    await worker.waitForLines(/^running /, SHORT + LONG)
    const termAt = Date.now()
    worker.proc.kill('SIGTERM')
    const exit = await worker.exited
    const exitMs = since(termAt)
    expect(exit).toEqual({ code: 0, signal: null })
    // Aborted at the timeout, not before it (short ones had time to finish), and without waiting for
    // the long ones. How soon after the timeout the process is gone depends on the machine: reported.
    expect(exitMs).toBeGreaterThanOrEqual(SHUTDOWN_TIMEOUT_MS)
    expect(exitMs).toBeLessThan(LONG_MS)
    const aborted = worker.lines.filter((l) => l.startsWith('aborted ')).map((l) => l.split(' ')[1])
    expect(aborted.sort()).toEqual(long.map((t) => t.taskId).sort())

    const shortIds = short.map((t) => t.taskId)
    const longIds = long.map((t) => t.taskId)
    const done = await pg.query(
      `select count(*)::int as n from tasklane.task_history where task_id = any($1::uuid[]) and status = 'completed' and attempts = 1`,
      [shortIds],
    )
    expect(done.rows[0].n).toBe(SHORT)
    const jobs = await pg.query<{ state: string; retry_count: number; started_on: Date | null }>(
      'select state, retry_count, started_on from pgboss.job where id = any($1::uuid[])',
      [longIds],
    )
    expect(jobs.rows).toHaveLength(LONG)
    for (const j of jobs.rows) expect(j).toEqual({ state: 'created', retry_count: 0, started_on: null })
    const active = await pg.query(`select count(*)::int as n from pgboss.job where state = 'active'`)
    expect(active.rows[0].n).toBe(0)
    const longHistory = await pg.query(
      'select count(*)::int as n from tasklane.task_history where task_id = any($1::uuid[])',
      [longIds],
    )
    expect(longHistory.rows[0].n).toBe(0)

    // The next worker (holding at most 50 ms) runs them as attempt 1: the shutdown spent nothing.
    const next = await fleet.worker({ FAULT_HOLD_CAP_MS: '50' })
    await waitUntil(
      `${LONG} handed-back tasks completed`,
      async () =>
        (
          await pg.query<{ attempts: number }>(
            `select attempts from tasklane.task_history where task_id = any($1::uuid[]) and status = 'completed'`,
            [longIds],
          )
        ).rows,
      (rows) => rows.length === LONG,
      { timeoutMs: 60_000 },
    ).then((rows) => expect(rows.every((r) => r.attempts === 1)).toBe(true))
    const runs = await pg.query<{ attempts: number[]; pids: number[] }>(
      `select array_agg(attempt order by at) as attempts, array_agg(pid order by at) as pids
       from public.fault_exec where task_id = any($1::uuid[]) group by task_id`,
      [longIds],
    )
    for (const r of runs.rows) expect(r).toEqual({ attempts: [1, 1], pids: [worker.pid, next.pid] })
    report('3 graceful drain', {
      short: SHORT,
      long: LONG,
      shutdownTimeoutMs: SHUTDOWN_TIMEOUT_MS,
      exitAfterSigtermMs: exitMs,
      exitCode: exit.code,
    })
    next.proc.kill('SIGTERM')
    expect((await next.exited).code).toBe(0)
  }, 600_000)
})
