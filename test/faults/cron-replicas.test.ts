import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTasklane } from '../support/tasklane.ts'
import { tasks } from './fixtures/fault-tasks.ts'
import { type FaultPostgres, startFaultPostgres } from './support/fault-postgres.ts'
import { Fleet } from './support/fleet.ts'
import { report, since, waitUntil } from './support/wait.ts'

// Scenario 10: three replicas register the same schedules; the one that ran the first slot's job is
// killed with SIGKILL. Every minute slot must get exactly one job and one recorded outcome, none
// skipped, and one execution (a run the kill cut short is run again by a survivor: at-least-once).
// tasklane's schedules resolve to the minute: a 6-field expression names one second of the minute
// ('30 * * * * *', at :30) and fires once per minute slot, which this test pins down.
const REPLICA = 'test/faults/fixtures/cron-replica.ts'
const SLOTS = 3

interface SlotRow {
  key: string
  slot: Date
  jobs: number
  /** Completed history rows: the recorded outcome. */
  outcomes: number
  /** Processes that executed the slot's job, in order. */
  pids: number[]
}

async function slots(pg: FaultPostgres): Promise<SlotRow[]> {
  const { rows } = await pg.query<SlotRow>(
    `with jobs as (
       select j.id, j.data->'args'->>'key' as key, date_trunc('minute', j.created_on) as slot,
              (select count(*) from tasklane.task_history h where h.task_id = j.id and h.status = 'completed') as outcomes
       from pgboss.job j where j.name = 'default' and j.data->>'task' = 'cron-tick'
     )
     select key, slot, count(*)::int as jobs, sum(outcomes)::int as outcomes,
            (select coalesce(array_agg(e.pid order by e.at), '{}') from public.fault_exec e
             where e.task_id = any(array_agg(jobs.id))) as pids
     from jobs group by key, slot order by key, slot`,
  )
  return rows
}

describe('fault scenario 10: cron across replicas', () => {
  let pg: FaultPostgres
  let fleet: Fleet

  beforeAll(async () => {
    pg = await startFaultPostgres()
    // 10 s, not 5 s: see the known-bug test below (schedule() refuses heartbeats under 10 s).
    fleet = new Fleet({
      DATABASE_URL: pg.url,
      TASKLANE_WORKERS: '2',
      LOG_LEVEL: 'warn',
      TASKLANE_HEARTBEAT_TIMEOUT: '10s',
    })
  })
  afterAll(async () => {
    await fleet?.killAll()
    await pg?.destroy()
  })

  it('runs each slot exactly once, none missed, while a replica is killed', async () => {
    const replicas = await Promise.all([0, 1, 2].map(() => fleet.script(REPLICA)))
    const start = Date.now()
    const first = await waitUntil(
      'the first slot to run',
      () => slots(pg),
      (rows) => rows.some((r) => r.key === 'minutely' && r.pids.length === 1),
      // The first slot is the next minute boundary: up to 60 s away by design, plus 90 s of margin
      // for filing, leasing and running it on a loaded machine.
      { timeoutMs: 150_000, everyMs: 200 },
    )
    const firstSlotMs = since(start)
    const ranFirst = first.find((r) => r.key === 'minutely')!.pids[0]!
    const victim = replicas.find((r) => r.pid === ranFirst)!
    victim.proc.kill('SIGKILL')
    await victim.exited

    const rows = await waitUntil(
      `${SLOTS} minute slots recorded`,
      () => slots(pg),
      (rs) => rs.filter((r) => r.key === 'minutely' && r.outcomes > 0).length >= SLOTS,
      // Cron slots need time: the third slot starts at most 120 s after the first; 90 s of margin
      // for filing, running and recording it on a loaded machine.
      { timeoutMs: 210_000, everyMs: 500 },
    )
    const minutely = rows.filter((r) => r.key === 'minutely').slice(0, SLOTS)
    const atSecond30 = rows.filter((r) => r.key === 'at-30s' && r.slot <= minutely.at(-1)!.slot)
    let cutByKill = 0
    for (const series of [minutely, atSecond30]) {
      for (const r of series) {
        // One job and one outcome per slot. One execution, except that a run cut short by the
        // SIGKILL is run again by a survivor (at-least-once): then the victim's run comes first.
        const rerun = r.pids.length === 2 && r.pids[0] === victim.pid && r.pids[1] !== victim.pid
        if (rerun) cutByKill++
        expect({ slot: r.slot, jobs: r.jobs, outcomes: r.outcomes, runs: rerun ? 1 : r.pids.length }).toEqual(
          {
            slot: r.slot,
            jobs: 1,
            outcomes: 1,
            runs: 1,
          },
        )
      }
      const gaps = series.slice(1).map((r, i) => r.slot.getTime() - series[i]!.slot.getTime())
      expect(gaps.every((g) => g === 60_000)).toBe(true)
    }
    expect(atSecond30.length).toBeGreaterThanOrEqual(SLOTS - 1)
    // Slots after the kill ran on the survivors.
    for (const r of minutely.slice(1)) expect(r.pids).not.toContain(victim.pid)
    for (const r of replicas) if (r !== victim) expect(r.alive()).toBe(true)
    report('10 cron replicas', {
      replicas: 3,
      killed: 1,
      firstSlotAfterStartMs: firstSlotMs,
      minuteSlots: minutely.map((r) => ({
        slot: r.slot.toISOString().slice(11, 16),
        jobs: r.jobs,
        runs: r.pids.length,
      })),
      runsCutByTheKillAndRerun: cutByKill,
      sixFieldExpressionSlots: atSecond30.length,
      totalMs: since(start),
    })
  }, 600_000)

  // pg-boss's schedule() required heartbeatSeconds >= 10 while TASKLANE_HEARTBEAT_TIMEOUT may be 5 s;
  // tasklane's own schedules enqueue like addTask, with any heartbeat timeout.
  it('schedules with TASKLANE_HEARTBEAT_TIMEOUT=5s', async () => {
    const t = await startTasklane(pg.url, tasks, {
      workers: 0,
      supervise: false,
      env: { TASKLANE_HEARTBEAT_TIMEOUT: '5s' },
    })
    try {
      await t.schedule('cron-tick', '0 3 * * *', {}, { key: 'five-second-heartbeat' })
      const schedules = await t.listSchedules()
      expect(schedules.map((s) => s.key)).toContain('five-second-heartbeat')
    } finally {
      await t.stop()
    }
  })
})
