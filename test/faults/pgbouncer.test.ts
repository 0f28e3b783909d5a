import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startupOptionsSupport } from '../../src/queue/boss.ts'
import { type FaultPostgres, startFaultPostgres } from './support/fault-postgres.ts'
import { Fleet, request } from './support/fleet.ts'
import { findPgBouncer, type PgBouncer, startPgBouncer } from './support/pgbouncer.ts'
import { percentile, report, since, waitUntil } from './support/wait.ts'

// Scenario 11: every tasklane process talks to PostgreSQL through PgBouncer in transaction pooling
// mode, where LISTEN/NOTIFY does not work (a LISTEN is issued on whatever server connection the
// transaction got, which then goes back to the pool): workers must still lease, complete and hand
// back work, found by polling (TASKLANE_POLL_INTERVAL=200ms). The fixture tasks record their
// executions directly on the server (FAULT_RECORD_URL), outside what is under test.
const pgbouncer = findPgBouncer()
if ('reason' in pgbouncer) console.log(`[fault] 11 pgbouncer: skipped: ${pgbouncer.reason}`)
const POLL_MS = 200

async function completed(pg: FaultPostgres, ids: string[]): Promise<number> {
  const { rows } = await pg.query(
    `select count(*) as n from tasklane.task_history where task_id = any($1::uuid[]) and status = 'completed'`,
    [ids],
  )
  return Number(rows[0].n)
}

describe.skipIf('reason' in pgbouncer)('fault scenario 11: PgBouncer in transaction mode', () => {
  let pg: FaultPostgres
  let bouncer: PgBouncer
  let fleet: Fleet

  beforeAll(async () => {
    pg = await startFaultPostgres()
    bouncer = await startPgBouncer((pgbouncer as { bin: string }).bin, pg)
    fleet = new Fleet({
      DATABASE_URL: bouncer.url,
      FAULT_RECORD_URL: pg.url,
      TASKLANE_WORKERS: '8',
      TASKLANE_POLL_INTERVAL: `${POLL_MS}ms`,
      TASKLANE_SHUTDOWN_TIMEOUT: '1s',
    })
  })
  afterAll(async () => {
    await fleet?.killAll()
    await bouncer?.stop()
    await pg?.destroy()
  })

  it('enqueues, leases, completes and hands back work, polling as the fallback', async () => {
    const api = await fleet.serve({}, ['--no-workers'])
    const workers = await Promise.all([fleet.worker(), fleet.worker()])
    const start = Date.now()

    // Batches (group-committed inserts) and keyed singles (one transaction each), all through PgBouncer.
    const batches = await Promise.all(
      [0, 1, 2].map((b) =>
        request(`${api.baseUrl}/tasks/record/batch`, {
          body: { items: Array.from({ length: 100 }, (_, i) => ({ args: { n: b * 100 + i } })) },
        }),
      ),
    )
    expect(batches.map((a) => a.status)).toEqual([202, 202, 202])
    const keyed = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        request(`${api.baseUrl}/tasks/record`, {
          body: { args: { n: 1000 + i } },
          headers: { 'idempotency-key': `k${i}` },
        }),
      ),
    )
    expect(keyed.every((a) => a.status === 202)).toBe(true)
    const again = await request(`${api.baseUrl}/tasks/record`, {
      body: { args: { n: 1000 } },
      headers: { 'idempotency-key': 'k0' },
    })
    expect(again).toMatchObject({ status: 200, body: { taskId: keyed[0]!.body.taskId, deduplicated: true } })
    const ids = [
      ...batches.flatMap((a) => a.body.items.map((i: { taskId: string }) => i.taskId)),
      ...keyed.map((a) => a.body.taskId),
    ]
    await waitUntil(
      `${ids.length} tasks completed`,
      () => completed(pg, ids),
      (n) => n === ids.length,
      { timeoutMs: 60_000, whileProgressing: true },
    )
    const bulkMs = since(start)

    // Pick-up on idle workers, one task at a time: each is found (NOTIFY does not work here, so by
    // polling). How soon is reported: a stall fails the wait, a slow machine does not fail the test.
    const latencies: number[] = []
    for (let i = 0; i < 10; i++) {
      const t0 = Date.now()
      const a = await request(`${api.baseUrl}/tasks/record`, { body: { args: { n: 2000 + i } } })
      expect(a.status).toBe(202)
      await waitUntil(
        'one task completed',
        () => completed(pg, [a.body.taskId]),
        (n) => n === 1,
        { timeoutMs: 30_000, everyMs: 20 },
      )
      latencies.push(since(t0))
    }

    // Graceful drain through PgBouncer: running tasks are handed back, nothing stays active.
    const held = await request(`${api.baseUrl}/tasks/hold/batch`, {
      body: { items: Array.from({ length: 8 }, () => ({ args: { ms: 60_000 } })) },
    })
    expect(held.status).toBe(202)
    const heldIds = held.body.items.map((i: { taskId: string }) => i.taskId)
    await waitUntil(
      '8 hold tasks running',
      () =>
        Promise.resolve(
          workers.reduce((n, w) => n + w.lines.filter((l) => l.startsWith('running ')).length, 0),
        ),
      (n) => n === 8,
      { timeoutMs: 60_000 },
    )
    for (const w of workers) w.proc.kill('SIGTERM')
    const exits = await Promise.all(workers.map((w) => w.exited))
    expect(exits).toEqual([
      { code: 0, signal: null },
      { code: 0, signal: null },
    ])
    const handedBack = await pg.query(
      `select count(*)::int as n from pgboss.job where id = any($1::uuid[]) and state = 'created' and retry_count = 0`,
      [heldIds],
    )
    expect(handedBack.rows[0].n).toBe(8)
    const active = await pg.query(`select count(*)::int as n from pgboss.job where state = 'active'`)
    expect(active.rows[0].n).toBe(0)
    await fleet.worker({ FAULT_HOLD_CAP_MS: '10' })
    await waitUntil(
      'handed-back tasks completed',
      () => completed(pg, heldIds),
      (n) => n === 8,
      { timeoutMs: 60_000 },
    )
    const history = await pg.query(
      `select count(*)::int as n, count(distinct task_id)::int as tasks from tasklane.task_history`,
    )
    const total = ids.length + 10 + 8
    expect(history.rows[0]).toEqual({ n: total, tasks: total })
    report('11 pgbouncer', {
      poolMode: 'transaction',
      tasks: total,
      bulk320CompletedMs: bulkMs,
      pickupLatencyMs: { p50: percentile(latencies, 50), max: Math.max(...latencies) },
      drainExitCodes: exits.map((e) => e.code),
      handedBack: handedBack.rows[0].n,
    })
  }, 420_000)

  it('tells PgBouncer, which drops or refuses `options`, from PostgreSQL, which applies them, so no worker probes a session lock through it', async () => {
    expect(await startupOptionsSupport(pg.url)).toBe('applied')
    expect(await startupOptionsSupport(bouncer.url)).toBe('dropped')
    const refusing = await startPgBouncer((pgbouncer as { bin: string }).bin, pg, {
      ignoreStartupParameters: 'extra_float_digits',
    })
    try {
      expect(await startupOptionsSupport(refusing.url)).toBe('refused')
    } finally {
      await refusing.stop()
    }
    // A worker started behind it takes no owner lock, so it leaves none on a pooled server connection
    // (a probe's lock would outlive its client there, and freeing it could cut another client).
    const worker = await fleet.worker()
    expect(worker.stderr() + worker.lines.join('\n')).toMatch(/session locks do not outlive their connection/)
    const { rows } = await pg.query(`select count(*)::int as n from pg_locks where locktype = 'advisory'`)
    expect(rows[0].n).toBe(0)
  }, 120_000)
})
