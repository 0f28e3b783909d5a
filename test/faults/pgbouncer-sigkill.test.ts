import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Tasklane } from '../../src/tasklane.ts'
import { startTasklane } from '../support/tasklane.ts'
import { hold, tasks } from './fixtures/fault-tasks.ts'
import { type FaultPostgres, startFaultPostgres } from './support/fault-postgres.ts'
import { Fleet } from './support/fleet.ts'
import { findPgBouncer, type PgBouncer, startPgBouncer } from './support/pgbouncer.ts'
import { report, since, waitUntil } from './support/wait.ts'

// A worker killed with SIGKILL while every connection goes through PgBouncer in transaction mode. A
// session advisory lock taken there stays on a pooled server connection when the client dies, so the
// owner lock (worker/liveness.ts) cannot tell the dead from the live: tasklane detects that at start
// and leaves such claims to the heartbeat (here 5 s). With TASKLANE_LISTEN_URL pointing past the
// pooler, the lock lives on that direct connection and recovery is immediate again (heartbeat 10 min).
const pgbouncer = findPgBouncer()
if ('reason' in pgbouncer) console.log(`[fault] pgbouncer-sigkill: skipped: ${pgbouncer.reason}`)

describe.skipIf('reason' in pgbouncer)('SIGKILL of a worker behind PgBouncer in transaction mode', () => {
  let pg: FaultPostgres
  let bouncer: PgBouncer
  let producer: Tasklane
  const fleets: Fleet[] = []

  beforeAll(async () => {
    pg = await startFaultPostgres()
    bouncer = await startPgBouncer((pgbouncer as { bin: string }).bin, pg)
    producer = await startTasklane(pg.url, tasks, { workers: 0, supervise: false })
  })
  afterAll(async () => {
    for (const f of fleets) await f.killAll()
    await producer?.stop()
    await bouncer?.stop()
    await pg?.destroy()
  })

  const fleetOf = (env: Record<string, string>) => {
    const fleet = new Fleet({
      DATABASE_URL: bouncer.url,
      FAULT_RECORD_URL: pg.url,
      TASKLANE_WORKERS: '2',
      TASKLANE_POLL_INTERVAL: '200ms',
      ...env,
    })
    fleets.push(fleet)
    return fleet
  }
  const owners = async (ids: string[]) =>
    (
      await pg.query(
        `select count(*)::int as n from pgboss.job where id = any($1::uuid[]) and output ? 'leasedBy'`,
        [ids],
      )
    ).rows[0].n

  /** Kills a worker running two held tasks; resolves with their final status and how long it took. */
  async function killAndRecover(fleet: Fleet) {
    const first = await fleet.worker()
    const queued = await producer.addTasks(hold, [{ ms: 600_000 }, { ms: 600_000 }])
    const ids = queued.map((q) => q.taskId)
    await first.waitForLines(/^running /, 2)
    const stamped = await owners(ids)
    const second = await fleet.worker()
    const killedAt = Date.now()
    first.proc.kill('SIGKILL')
    await first.exited
    const infos = await Promise.all(ids.map((id) => producer.waitFor(id, { timeout: '120s' })))
    const recoveredMs = since(killedAt)
    const runs = await pg.query(
      `select task_id, array_agg(pid order by attempt) as pids from public.fault_exec
       where task_id = any($1::uuid[]) group by task_id`,
      [ids],
    )
    second.proc.kill('SIGTERM')
    await second.exited
    return { first, second, infos, stamped, recoveredMs, runs: runs.rows }
  }

  it('falls back to the heartbeat: the claims carry no owner, and come back after the timeout', async () => {
    const fleet = fleetOf({ TASKLANE_HEARTBEAT_TIMEOUT: '5s' })
    const { first, second, infos, stamped, recoveredMs, runs } = await killAndRecover(fleet)
    expect(first.lines.some((l) => l.includes('session locks do not outlive their connection'))).toBe(true)
    expect(stamped).toBe(0)
    expect(infos.map((i) => [i.status, i.attempts])).toEqual([
      ['completed', 2],
      ['completed', 2],
    ])
    expect(runs.map((r) => r.pids)).toEqual([
      [first.pid, second.pid],
      [first.pid, second.pid],
    ])
    report('pgbouncer-sigkill heartbeat fallback', { heartbeatTimeoutMs: 5_000, recoveredMs })
  }, 600_000)

  it('recovers at once with TASKLANE_LISTEN_URL direct: the lock lives there', async () => {
    const fleet = fleetOf({ TASKLANE_HEARTBEAT_TIMEOUT: '10m', TASKLANE_LISTEN_URL: pg.url })
    const { first, second, infos, stamped, recoveredMs, runs } = await killAndRecover(fleet)
    expect(first.lines.some((l) => l.includes('session locks do not outlive their connection'))).toBe(false)
    expect(stamped).toBe(2)
    expect(infos.map((i) => [i.status, i.attempts])).toEqual([
      ['completed', 2],
      ['completed', 2],
    ])
    expect(runs.map((r) => r.pids)).toEqual([
      [first.pid, second.pid],
      [first.pid, second.pid],
    ])
    // Nothing is left active (the 10-minute heartbeat could not have brought them back).
    await waitUntil(
      'nothing active',
      async () =>
        (await pg.query(`select count(*)::int as n from pgboss.job where state = 'active'`)).rows[0].n,
      (n) => n === 0,
      { timeoutMs: 30_000 },
    )
    report('pgbouncer-sigkill owner lock via TASKLANE_LISTEN_URL', {
      heartbeatTimeoutMs: 600_000,
      recoveredMs,
    })
  }, 600_000)
})
