import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FaultPostgres, startFaultPostgres } from '../faults/support/fault-postgres.ts'
import { FAULT_TASKS, request } from '../faults/support/fleet.ts'
import { findPgBouncer, type PgBouncer, startPgBouncer } from '../faults/support/pgbouncer.ts'
import { waitUntil } from '../faults/support/wait.ts'
import { type Child, spawnTs } from '../support/child-process.ts'

// Issue 14, item 2: through PgBouncer in transaction mode, six `tasklane migrate` and a `serve` plus
// three `worker`s (each of which migrates at start, as `docker compose up --scale worker=3` does)
// started at the same moment on a database where nothing is installed yet all finish, and leave no
// lock behind on a pooled connection. Before the fix some hung forever or died of "deadlock detected".
const pgbouncer = findPgBouncer()
if ('reason' in pgbouncer) console.log(`[deploy] pgbouncer starts: skipped: ${pgbouncer.reason}`)

const CLI = 'src/cli/main.ts'
// Starting ten Node processes at once on a shared two-core machine takes a while; this bounds a hang,
// it does not measure speed.
const START_TIMEOUT_MS = 150_000

describe.skipIf('reason' in pgbouncer)('concurrent starts through PgBouncer transaction mode', () => {
  let server: FaultPostgres
  let bouncer: PgBouncer
  const children: Child[] = []

  beforeAll(async () => {
    server = await startFaultPostgres()
    // PgBouncer as installed: it refuses the `options` startup parameter (tasklane then leases
    // without its planner settings, and says so).
    bouncer = await startPgBouncer((pgbouncer as { bin: string }).bin, server, {
      ignoreStartupParameters: 'extra_float_digits',
    })
  })
  afterAll(async () => {
    for (const c of children)
      if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL')
    await Promise.all(children.map((c) => c.exited))
    await bouncer?.stop()
    await server?.destroy()
  })

  it('six migrates, serve and three workers started at once all finish', async () => {
    // A schema nobody installed yet: every process races to install pg-boss's and tasklane's.
    const env = {
      DATABASE_URL: bouncer.url,
      FAULT_RECORD_URL: server.url,
      TASKLANE_SCHEMA: 'bounced',
      TASKLANE_TASKS: FAULT_TASKS,
      TASKLANE_MIGRATE: 'true',
      TASKLANE_WORKERS: '2',
      TASKLANE_POLL_INTERVAL: '200ms',
      TASKLANE_SHUTDOWN_TIMEOUT: '1s',
      TASKLANE_API_TOKEN: '',
      LOG_LEVEL: 'info',
      HOST: '127.0.0.1',
      PORT: '0',
    }
    const spawn = (args: string[]) => {
      const c = spawnTs(CLI, env, args)
      children.push(c)
      return c
    }
    const migrates = Array.from({ length: 6 }, () => spawn(['migrate']))
    // LISTEN is session state: serve gets a direct connection for it (TASKLANE_LISTEN_URL), so its
    // event stream is live through the pooler; the workers have none and find work by polling.
    const serve = spawnTs(CLI, { ...env, TASKLANE_LISTEN_URL: server.url }, ['serve'])
    children.push(serve)
    const workers = Array.from({ length: 3 }, () => spawn(['worker']))

    const exits = await Promise.all(
      migrates.map((m) =>
        Promise.race([
          m.exited,
          new Promise((_, reject) =>
            setTimeout(
              () => reject(new Error(`migrate hung; stderr: ${m.stderr().slice(-2000)}`)),
              START_TIMEOUT_MS,
            ),
          ),
        ]),
      ),
    )
    expect(exits, migrates.map((m) => m.stderr()).join('\n')).toEqual(
      Array.from({ length: 6 }, () => ({ code: 0, signal: null })),
    )
    const listening = await serve.waitForLine(/^tasklane: listening on http:\/\/\S+/, START_TIMEOUT_MS)
    await Promise.all(workers.map((w) => w.waitForLine(/"msg":"tasklane started"/, START_TIMEOUT_MS)))

    // Exactly one process applied each migration; the others found the schema current.
    const applied = migrates.flatMap((m) => m.lines.filter((l) => l.startsWith('tasklane: applied')))
    expect(applied.length).toBeLessThanOrEqual(1)
    const { rows } = await server.query<{ n: number }>(
      'select count(*)::int as n from bounced.tasklane_migration',
    )
    expect(rows[0]!.n).toBeGreaterThan(0)

    // The four started processes work: a task enqueued through serve runs on some worker.
    const base = `http://127.0.0.1:${/:(\d+)\s*$/.exec(listening)![1]}`
    const events = await fetch(`${base}/events`)
    expect(events.status).toBe(200)
    const stream = readUntil(events, (text) => /"status":"completed"/.test(text))
    const answer = await request(`${base}/tasks/record`, { body: { args: { n: 1 } } })
    expect(answer.status).toBe(202)
    await waitUntil(
      'the task completed',
      async () =>
        (
          await server.query<{ status: string }>(
            'select status from bounced.task_history where task_id = $1',
            [answer.body.taskId],
          )
        ).rows[0]?.status,
      (status) => status === 'completed',
      { timeoutMs: 30_000 },
    )

    // The completion, NOTIFYed through the pooler by a worker, reached serve's direct LISTEN.
    expect(await stream).toContain(answer.body.taskId)
    expect(workers[0]!.stderr() + workers[0]!.lines.join('\n')).toMatch(
      /refuses the `options` startup parameter/,
    )

    // No advisory lock outlived its transaction on a pooled server connection… Serve, which runs
    // workers, rightly holds its owner lock (docs/reliability.md) on its direct LISTEN connection:
    // it is stopped first, and the server drops that lock a moment after the connection closes. A
    // lock left on a pooled server connection never goes: the workers, which connect only through
    // the pooler, must have taken none.
    serve.proc.kill('SIGTERM')
    expect(await serve.exited).toEqual({ code: 0, signal: null })
    await waitUntil(
      'no advisory lock held',
      async () =>
        (
          await server.query<{ n: number }>(
            `select count(*)::int as n from pg_locks where locktype = 'advisory' and granted`,
          )
        ).rows[0]!.n,
      (n) => n === 0,
      { timeoutMs: 30_000 },
    )
    // …so one more migrate through the pooler finishes too.
    const late = spawn(['migrate'])
    expect(await late.exited).toEqual({ code: 0, signal: null })
    expect(late.lines).toContain('tasklane: schema is up to date')
  }, 300_000)
})

/** Reads an SSE response until `done(text)` holds, then cancels it and resolves with the text. */
async function readUntil(res: Response, done: (text: string) => boolean): Promise<string> {
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  let text = ''
  while (!done(text)) {
    const chunk = await reader.read()
    if (chunk.done) break
    text += decoder.decode(chunk.value, { stream: true })
  }
  await reader.cancel().catch(() => {})
  return text
}
