import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import type { FaultPostgres } from './fault-postgres.ts'
import { freePort } from './fault-postgres.ts'
import { waitUntil } from './wait.ts'

export interface PgBouncer {
  /** postgres://… of the `tasklane` database through PgBouncer. */
  url: string
  /** PgBouncer's own log (stderr), for failure messages. */
  log(): string
  stop(): Promise<void>
}

/** The pgbouncer binary, or null with the reason it cannot be used here. */
export function findPgBouncer(): { bin: string } | { reason: string } {
  for (const bin of ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer', '/usr/local/bin/pgbouncer']) {
    try {
      execFileSync(bin, ['--version'], { stdio: 'pipe', timeout: 5_000 })
      return { bin }
    } catch {}
  }
  return { reason: 'pgbouncer is not installed (Debian: apt-get install -y pgbouncer)' }
}

/**
 * Starts PgBouncer in transaction pooling mode in front of `server`'s `tasklane` database. It runs as
 * the owner of the server's data dir: PgBouncer refuses to run as root.
 *
 * `ignore_startup_parameters` must list `options`: tasklane's pg-boss pool sends planner settings in
 * the `options` startup parameter, which PgBouncer before 1.20 rejects ("unsupported startup
 * parameter: options") and otherwise drops. Through PgBouncer those settings are simply not applied.
 */
export async function startPgBouncer(
  bin: string,
  server: FaultPostgres,
  { ignoreStartupParameters = 'extra_float_digits,options' }: { ignoreStartupParameters?: string } = {},
): Promise<PgBouncer> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tasklane-fault-pgbouncer-'))
  await fs.chmod(dir, 0o755)
  const port = await freePort()
  const ini = path.join(dir, 'pgbouncer.ini')
  await fs.writeFile(
    ini,
    [
      '[databases]',
      `tasklane = host=127.0.0.1 port=${server.port} dbname=tasklane user=postgres`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = any',
      'pool_mode = transaction',
      'max_client_conn = 500',
      'default_pool_size = 20',
      `ignore_startup_parameters = ${ignoreStartupParameters}`,
      'server_reset_query =',
      '',
    ].join('\n'),
    { mode: 0o644 },
  )
  const owner = await fs.stat(server.dataDir)
  const asUser = process.getuid?.() === 0 ? { uid: owner.uid, gid: owner.gid } : {}
  const child: ChildProcess = spawn(bin, [ini], { ...asUser, stdio: ['ignore', 'pipe', 'pipe'] })
  let log = ''
  child.stdout!.on('data', (d) => {
    log += d
  })
  child.stderr!.on('data', (d) => {
    log += d
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const url = `postgres://postgres@127.0.0.1:${port}/tasklane`
  await waitUntil(
    'PgBouncer to accept a query',
    async () => {
      if (child.exitCode !== null) throw new Error(`pgbouncer exited: ${log.slice(-1000)}`)
      const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 })
      c.on('error', () => {})
      await c.connect()
      try {
        return (await c.query('select 1 as ok')).rows[0].ok as number
      } finally {
        await c.end()
      }
    },
    (ok) => ok === 1,
    // A hang detector: on a loaded machine a first connection through PgBouncer can take seconds.
    { timeoutMs: 60_000, everyMs: 100 },
  )
  return {
    url,
    log: () => log,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT')
      await exited
      await fs.rm(dir, { recursive: true, force: true })
    },
  }
}
