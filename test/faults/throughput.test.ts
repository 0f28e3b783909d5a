import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Tasklane } from '../../src/tasklane.ts'
import { record } from './fixtures/fault-tasks.ts'
import { startFaultCluster, stopFaultCluster } from './support/cluster.ts'
import type { FaultPostgres } from './support/fault-postgres.ts'
import type { Fleet } from './support/fleet.ts'
import { report, since, waitUntil } from './support/wait.ts'

// Scenario 1: many tasks, several worker processes, no fault at all. The baseline the other scenarios
// are measured against: every task has exactly one outcome and ran exactly once.
const TOTAL = 10_000
const WORKERS = 4

describe('fault scenario 1: 10,000 tasks on 4 worker processes', () => {
  let pg: FaultPostgres
  let fleet: Fleet
  let producer: Tasklane

  beforeAll(async () => {
    ;({ pg, fleet, producer } = await startFaultCluster({ TASKLANE_WORKERS: '16' }))
  })
  afterAll(() => stopFaultCluster({ pg, fleet, producer }))

  it('records 10,000 outcomes, runs no task twice, leaves none unfinished', async () => {
    const workers = await Promise.all(Array.from({ length: WORKERS }, () => fleet.worker()))
    const start = Date.now()
    for (let i = 0; i < TOTAL; i += 1_000) {
      await producer.addTasks(
        record,
        Array.from({ length: 1_000 }, (_, j) => ({ n: i + j })),
      )
    }
    const enqueueMs = since(start)
    await waitUntil(
      `${TOTAL} history rows`,
      async () => Number((await pg.query('select count(*) as n from tasklane.task_history')).rows[0].n),
      (n) => n >= TOTAL,
      // A loaded machine drains 10,000 tasks slowly but steadily: fail on a stall, not on a clock.
      { timeoutMs: 60_000, everyMs: 250, whileProgressing: true },
    )
    const totalMs = since(start)

    // No attempt was lost: none recorded as lost (each record says which detector failed it: a lapsed
    // heartbeat, or an owner lock seen released), so a failure here names its cause.
    const lost = await pg.query(
      `select outcome, error->>'message' as reason, count(*)::int as n from tasklane.task_attempt group by 1, 2`,
    )
    expect(lost.rows).toEqual([])
    const history = await pg.query(
      `select count(*)::int as rows, count(distinct task_id)::int as tasks,
              count(*) filter (where status = 'completed' and attempts = 1)::int as completed_first_try
       from tasklane.task_history`,
    )
    expect(history.rows[0]).toEqual({ rows: TOTAL, tasks: TOTAL, completed_first_try: TOTAL })
    const runs = await pg.query(
      `select count(*)::int as executions, count(distinct task_id)::int as tasks from public.fault_exec`,
    )
    expect(runs.rows[0]).toEqual({ executions: TOTAL, tasks: TOTAL })
    const unfinished = await pg.query(
      `select count(*)::int as n from pgboss.job where name = 'default' and state < 'completed'`,
    )
    expect(unfinished.rows[0].n).toBe(0)
    const perProcess = await pg.query<{ pid: number; n: number }>(
      'select pid, count(*)::int as n from public.fault_exec group by pid order by pid',
    )
    expect(perProcess.rows.map((r) => r.pid).sort()).toEqual(workers.map((w) => w.pid).sort())
    expect(workers.every((w) => w.alive())).toBe(true)
    report('1 throughput', {
      tasks: TOTAL,
      workers: WORKERS,
      enqueueMs,
      totalMs,
      tasksPerSecond: Math.round((TOTAL / totalMs) * 1000),
      perProcess: perProcess.rows.map((r) => r.n),
      duplicates: 0,
    })
  }, 900_000)
})
