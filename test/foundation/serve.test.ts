import { spawn } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { waitUntil } from '../http/helpers/wait-until.ts'
import { type Child, spawnTs } from '../support/child-process.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'

const CLI = 'src/cli/main.ts'
/** Long, so that an exit before it shows the drain did not wait (how soon depends on the machine). */
const SHUTDOWN_TIMEOUT_MS = 60_000

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net')
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })
}

function runCli(args: string[], env: Record<string, string>) {
  return new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stderr = ''
    p.stderr.on('data', (d) => {
      stderr += d
    })
    p.on('exit', (code) => resolve({ code, stderr }))
  })
}

describe('tasklane serve', () => {
  let db: TestDatabase
  let child: Child | undefined

  beforeAll(async () => {
    db = await createTestDatabase()
  })
  afterAll(async () => {
    child?.proc.kill('SIGKILL')
    await db?.drop()
  })

  it('answers /health and /ready, then stops cleanly on SIGTERM without waiting out the drain timeout', async () => {
    const port = await freePort()
    child = spawnTs(
      CLI,
      {
        DATABASE_URL: db.url,
        PORT: String(port),
        LOG_LEVEL: 'warn',
        DEMO_TIME_SCALE: '0.01',
        TASKLANE_SHUTDOWN_TIMEOUT: `${SHUTDOWN_TIMEOUT_MS}ms`,
      },
      ['serve'],
    )
    await child.waitForLine(/listening on/)
    const health = await fetch(`http://127.0.0.1:${port}/health`)
    expect(health.status).toBe(200)
    // Idle keep-alive connections stay open 65 s (serve-command.ts: the reuse race of a stalled server).
    expect(health.headers.get('keep-alive')).toBe('timeout=65')
    const ready = await fetch(`http://127.0.0.1:${port}/ready`)
    expect(ready.status).toBe(200)
    expect(await ready.json()).toMatchObject({ status: 'ready' })
    const t0 = Date.now()
    child.proc.kill('SIGTERM')
    const { code } = await child.exited
    expect(code).toBe(0)
    // Nothing was running, so nothing to wait for: it exits before the drain timeout would end.
    expect(Date.now() - t0).toBeLessThan(SHUTDOWN_TIMEOUT_MS)
    // Its connections end with it. A server backend notices its client has gone a moment after the
    // process exits (a proof run saw one still listed), so this waits for the count to reach 0.
    await waitUntil(
      async () => {
        const { rows } = await db.query(
          `select count(*)::int as n from pg_stat_activity where datname = $1 and application_name like 'tasklane%'`,
          [db.name],
        )
        return rows[0].n === 0
      },
      { what: "the exited process's connections to end" },
    )
  })

  it('exits with a message naming a bad variable, its value and the accepted range', async () => {
    const { code, stderr } = await runCli(['serve'], { DATABASE_URL: db.url, PORT: 'eighty' })
    expect(code).toBe(2)
    expect(stderr).toContain('PORT="eighty" is invalid: expected an integer from 0 to 65535')
  })

  it('refuses a non-loopback host without a token unless --insecure', async () => {
    const { code, stderr } = await runCli(['serve'], { DATABASE_URL: db.url, HOST: '0.0.0.0' })
    expect(code).toBe(2)
    expect(stderr).toMatch(/refusing to listen on 0\.0\.0\.0 without TASKLANE_API_TOKEN/)
  })
})
