import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FaultPostgres, startFaultPostgres } from './support/fault-postgres.ts'
import { Fleet, type TasklaneProcess } from './support/fleet.ts'
import { startLoad } from './support/load.ts'
import { percentile, report, since, waitUntil } from './support/wait.ts'

// Scenario 4: PostgreSQL crashes (immediate shutdown: no checkpoint, WAL recovery on start) and comes
// back while producers enqueue over HTTP and worker processes run. While it is down the API answers
// 503 with Retry-After (never 500, never a dropped connection); every 202 is a task that completes;
// the workers pick up again by themselves.
const RATE = 60
/**
 * How long the database stays down: longer than the heartbeat timeout (5 s) with margin, so every
 * claim held at the crash lapses. Timed by the requests refused meanwhile, not slept.
 */
const DOWN_MS = 7_000

describe('fault scenario 4: database restart under load', () => {
  let pg: FaultPostgres
  let fleet: Fleet

  beforeAll(async () => {
    pg = await startFaultPostgres()
    fleet = new Fleet({ DATABASE_URL: pg.url, TASKLANE_WORKERS: '8' })
  })
  afterAll(async () => {
    await fleet?.killAll()
    await pg?.destroy()
  })

  it('answers 503 + Retry-After while down, loses no acknowledged task, workers resume by themselves', async () => {
    const api = await fleet.serve({}, ['--no-workers'])
    const workers: TasklaneProcess[] = await Promise.all([fleet.worker(), fleet.worker()])
    const load = startLoad({ url: `${api.baseUrl}/tasks/record`, rate: RATE })
    const accepted = () => load.answers.filter((a) => a.status === 202).length
    await load.until(() => accepted() >= 100)

    const downAt = Date.now()
    await pg.stop('immediate')
    // Down for longer than the heartbeat timeout (5 s): every claim held at the crash lapses, so the
    // recovery covers re-leasing as well as reconnecting. Over once a request sent DOWN_MS after the
    // crash was refused (a count of refusals would measure how fast this machine sends them).
    await load.until((answers) => answers.some((a) => a.at >= downAt + DOWN_MS && a.status !== 202))
    const upStart = Date.now()
    await pg.start()
    const upAt = Date.now()
    const acceptedBeforeUp = accepted()
    await load.until(() => accepted() >= acceptedBeforeUp + 200)
    const answers = await load.stop()

    const statuses = Object.groupBy(answers, (a) => String(a.status))
    const unexpected = answers.filter((a) => a.status !== 202 && a.status !== 503)
    expect(unexpected.map((a) => ({ status: a.status, body: a.body, error: a.networkError }))).toEqual([])
    const unavailable = statuses['503'] ?? []
    expect(unavailable.length).toBeGreaterThan(0)
    expect(unavailable.every((a) => a.retryAfter !== null && Number(a.retryAfter) > 0)).toBe(true)
    expect(unavailable.every((a) => a.body?.error?.code === 'database_unavailable')).toBe(true)
    for (const p of fleet.processes) expect(p.alive(), `${p.name} is alive`).toBe(true)

    const ids = (statuses['202'] ?? []).map((a) => a.body.taskId as string)
    expect(new Set(ids).size).toBe(ids.length)
    await waitUntil(
      `${ids.length} acknowledged tasks completed`,
      async () =>
        Number(
          (
            await pg.query(
              `select count(*) as n from tasklane.task_history where task_id = any($1::uuid[]) and status = 'completed'`,
              [ids],
            )
          ).rows[0].n,
        ),
      (n) => n === ids.length,
      { timeoutMs: 60_000, everyMs: 250, whileProgressing: true },
    )
    const drainedMs = since(upAt)
    const missing = await pg.query(
      `select count(*)::int as n from unnest($1::uuid[]) as a(id)
       where not exists (select 1 from public.fault_exec e where e.task_id = a.id)`,
      [ids],
    )
    expect(missing.rows[0].n).toBe(0)
    const resumed = await pg.query<{ first: Date | null }>(
      `select min(at) as first from public.fault_exec where at > $1 and pid = any($2::int[])`,
      [new Date(upAt), workers.map((w) => w.pid)],
    )
    // The workers (the API runs none) ran tasks again by themselves; how soon is reported.
    const firstAfterUp = resumed.rows[0]?.first ?? null
    expect(firstAfterUp).not.toBeNull()
    const resumeMs = firstAfterUp!.getTime() - upAt
    const extra = await pg.query(
      `select count(*)::int as n from (select task_id from public.fault_exec group by task_id having count(*) > 1) d`,
    )
    const active = await pg.query(`select count(*)::int as n from pgboss.job where state = 'active'`)
    expect(active.rows[0].n).toBe(0)
    report('4 database restart', {
      requests: answers.length,
      // Ticks the generator sent nothing because 20 requests were unanswered (support/load.ts).
      skipped: load.skipped,
      accepted: ids.length,
      answered503: unavailable.length,
      other: unexpected.length,
      downMs: upAt - downAt,
      restartMs: upAt - upStart,
      workersResumedMs: resumeMs,
      allAcknowledgedCompletedAfterUpMs: drainedMs,
      tasksRunTwice: extra.rows[0].n,
      p99Ms503: Math.round(
        percentile(
          unavailable.map((a) => a.ms),
          99,
        ),
      ),
      p99Ms202: Math.round(
        percentile(
          (statuses['202'] ?? []).map((a) => a.ms),
          99,
        ),
      ),
    })
  }, 600_000)
})
