import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Tasklane } from '../../src/tasklane.ts'
import { hold, record } from './fixtures/fault-tasks.ts'
import { startFaultCluster, stopFaultCluster } from './support/cluster.ts'
import type { FaultPostgres } from './support/fault-postgres.ts'
import type { Fleet } from './support/fleet.ts'
import { report, since, waitUntil } from './support/wait.ts'

// Scenario 5: every tasklane connection (application_name like 'tasklane%': pools, pg-boss, LISTEN) is
// terminated by the server, once while the workers are busy and once while they are idle. Workers
// poll only every 60 s here (the longest interval allowed), so tasks picked up well within it prove
// NOTIFY wake-ups work again on the re-established LISTEN connections.
const HOLDS = 40
const WORKERS = 2
const POLL_MS = 60_000
/**
 * A wake-up faster than this came from NOTIFY: a quarter of the poll interval. Not a speed claim
 * (a NOTIFY pick-up takes well under a second, even on a loaded 2-core machine where seconds were
 * seen); with NOTIFY broken, two workers polling at random phases would make all four timed
 * wake-ups this fast with a probability of (1 - (3/4)²)⁴ ≈ 4 %.
 */
const NOTIFY_BOUND_MS = POLL_MS / 4

async function completed(pg: FaultPostgres, ids: string[]): Promise<number> {
  const { rows } = await pg.query(
    `select count(*) as n from tasklane.task_history where task_id = any($1::uuid[]) and status = 'completed'`,
    [ids],
  )
  return Number(rows[0].n)
}

async function terminateTasklaneConnections(pg: FaultPostgres): Promise<Record<string, number>> {
  const { rows } = await pg.query<{ application_name: string; n: number }>(
    `select application_name, count(*)::int as n from (
       select application_name, pg_terminate_backend(pid) as killed from pg_stat_activity
       where application_name like 'tasklane%' and pid <> pg_backend_pid()
     ) t where killed group by application_name order by application_name`,
  )
  return Object.fromEntries(rows.map((r) => [r.application_name, r.n]))
}

async function listeners(pg: FaultPostgres): Promise<number> {
  const { rows } = await pg.query(
    `select count(*)::int as n from pg_stat_activity where application_name = 'tasklane-listen'`,
  )
  return rows[0].n
}

describe('fault scenario 5: every tasklane connection terminated', () => {
  let pg: FaultPostgres
  let fleet: Fleet
  let producer: Tasklane

  beforeAll(async () => {
    // In process, and its connections are terminated too: a producer must survive it as well.
    ;({ pg, fleet, producer } = await startFaultCluster({
      TASKLANE_WORKERS: '8',
      TASKLANE_POLL_INTERVAL: `${POLL_MS}ms`,
    }))
  })
  afterAll(() => stopFaultCluster({ pg, fleet, producer }))

  /** Enqueues 5 tasks on idle workers and returns how long until all 5 completed. */
  async function wakeUpLatency(): Promise<number> {
    const start = Date.now()
    const ids = (await producer.addTasks(record, [{}, {}, {}, {}, {}])).map((t) => t.taskId)
    await waitUntil(
      '5 tasks picked up by NOTIFY',
      () => completed(pg, ids),
      (n) => n === ids.length,
      { timeoutMs: POLL_MS, everyMs: 25 },
    )
    return since(start)
  }

  it('reconnects pools and LISTEN, resumes NOTIFY wake-ups, loses no task', async () => {
    const workers = await Promise.all(Array.from({ length: WORKERS }, () => fleet.worker()))
    const expectedListeners = WORKERS + 1
    await waitUntil(
      'LISTEN connections',
      () => listeners(pg),
      (n) => n === expectedListeners,
      { timeoutMs: 60_000 },
    )
    const before = await wakeUpLatency()

    // Round 1: busy workers (16 slots, 40 tasks of 1 s).
    const held = (
      await producer.addTasks(
        hold,
        Array.from({ length: HOLDS }, () => ({ ms: 1_000 })),
      )
    ).map((t) => t.taskId)
    // Busy: 8 tasks running, on whichever workers leased them. Not 8 on each: the default prefetch
    // adapts to the short tasks run before, so one worker may lease most of the 40 into its buffer
    // (a proof run saw the other worker start only 4).
    await waitUntil(
      '8 held tasks running',
      async () => workers.reduce((n, w) => n + w.lines.filter((l) => /^running /.test(l)).length, 0),
      (n) => n >= 8,
      { timeoutMs: 60_000 },
    )
    const busyKill = await terminateTasklaneConnections(pg)
    const busyAt = Date.now()
    await waitUntil(
      'LISTEN re-established',
      () => listeners(pg),
      (n) => n === expectedListeners,
      { timeoutMs: 60_000 },
    )
    const busyReconnectMs = since(busyAt)
    await waitUntil(
      `${HOLDS} held tasks completed`,
      () => completed(pg, held),
      (n) => n === HOLDS,
      { timeoutMs: 60_000, whileProgressing: true },
    )
    const afterBusy = await wakeUpLatency()

    // Round 2: idle workers.
    const idleKill = await terminateTasklaneConnections(pg)
    const idleAt = Date.now()
    await waitUntil(
      'LISTEN re-established',
      () => listeners(pg),
      (n) => n === expectedListeners,
      { timeoutMs: 60_000 },
    )
    const idleReconnectMs = since(idleAt)
    const afterIdle = [await wakeUpLatency(), await wakeUpLatency(), await wakeUpLatency()]

    for (const killed of [busyKill, idleKill]) {
      // Every LISTEN connection was cut: at least one per process. One more is a reconnect caught
      // half-way (a ping answered late on a loaded machine counts as a lost connection), not a leak:
      // the count of listeners returns to one per process before each round (waitUntil above).
      expect(killed['tasklane-listen']).toBeGreaterThanOrEqual(expectedListeners)
      expect(killed['tasklane-boss']).toBeGreaterThan(0)
    }
    expect(busyKill.tasklane).toBeGreaterThan(0)
    // The poll interval is 60 s: wake-ups this much faster were NOTIFY (see NOTIFY_BOUND_MS).
    for (const ms of [afterBusy, ...afterIdle]) expect(ms).toBeLessThan(NOTIFY_BOUND_MS)
    for (const w of workers) expect(w.alive()).toBe(true)

    const history = await pg.query(
      `select count(*)::int as rows, count(*) filter (where status = 'completed')::int as completed from tasklane.task_history`,
    )
    const total = HOLDS + 5 * 5
    expect(history.rows[0]).toEqual({ rows: total, completed: total })
    const executed = await pg.query(
      'select count(distinct task_id)::int as n, count(*)::int as runs from public.fault_exec',
    )
    expect(executed.rows[0].n).toBe(total)
    const active = await pg.query(`select count(*)::int as n from pgboss.job where state < 'completed'`)
    expect(active.rows[0].n).toBe(0)
    report('5 connection loss', {
      terminatedBusy: busyKill,
      terminatedIdle: idleKill,
      listenReconnectMs: { busy: busyReconnectMs, idle: idleReconnectMs },
      wakeUpLatencyMs: { before, afterBusy, afterIdle },
      tasks: total,
      executions: executed.rows[0].runs,
    })
  }, 600_000)
})
