import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import { type AddressInfo, createServer } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { type EmbeddedPostgresHandle, startEmbeddedPostgres } from '../../../src/db/embedded-postgres.ts'
import { migrateToLatest } from '../../../src/db/migrate.ts'
import { createLogger } from '../../../src/logger.ts'

/**
 * A PostgreSQL server owned by one fault test file: its own data dir under os.tmpdir() and its own
 * port, so the test can crash, stop and restart it without touching anybody else's database. The
 * `tasklane` database is migrated (pg-boss + tasklane) and holds the fixture tables:
 * - `fault_exec`: one row per execution of a fixture task (the task writes it, see fault-tasks.ts);
 * - `fault_flag`: switches the tests flip (e.g. `heal` makes the poison task succeed).
 */
export interface FaultPostgres {
  /** postgres://… of the `tasklane` database (stable across restarts: same port). */
  readonly url: string
  readonly port: number
  readonly dataDir: string
  /** Plain SQL for assertions, on a small pool that survives restarts (a failed query just throws). */
  // biome-ignore lint/suspicious/noExplicitAny: assertion queries read their rows loosely, like test/support/database.ts
  query<T extends pg.QueryResultRow = any>(text: string, values?: unknown[]): Promise<pg.QueryResult<T>>
  /** Stops the server: 'fast' (SIGINT, clean) or 'immediate' (SIGQUIT: a crash, WAL recovery on start). */
  stop(mode?: 'fast' | 'immediate'): Promise<void>
  /** Starts it again on the same data dir and port; resolves once it accepts connections. */
  start(): Promise<void>
  readonly running: boolean
  /** Stops the server and deletes its data dir. */
  destroy(): Promise<void>
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      server.close(() => resolve(port))
    })
  })
}

const FIXTURE_TABLES = `
  create table if not exists public.fault_exec (
    task_id uuid not null,
    task text not null,
    attempt int not null,
    pid int not null,
    at timestamptz not null default clock_timestamp()
  );
  create index if not exists fault_exec_task_id on public.fault_exec (task_id);
  create table if not exists public.fault_flag (name text primary key);
`

/**
 * Starts a fresh, migrated server. Call destroy() in afterAll.
 * @example const pg = await startFaultPostgres(); afterAll(() => pg.destroy())
 */
export async function startFaultPostgres(): Promise<FaultPostgres> {
  const dataDir = path.join(os.tmpdir(), `tasklane-fault-${process.pid}-${randomBytes(4).toString('hex')}`)
  const port = await freePort()
  let handle: EmbeddedPostgresHandle | null = await startEmbeddedPostgres({ dataDir, port })
  const url = handle.connectionString
  await migrateToLatest({
    connectionString: url,
    schema: 'tasklane',
    bossSchema: 'pgboss',
    dbBackend: 'postgres',
    log: createLogger('silent'),
  })
  const pool = new pg.Pool({
    connectionString: url,
    max: 3,
    application_name: 'fault-test',
    // Includes waiting for a free pooled connection (pg-pool): 30 s for a loaded machine. A stopped
    // server still fails at once (connection refused), so polls through outages stay quick.
    connectionTimeoutMillis: 30_000,
  })
  pool.on('error', () => {})
  await pool.query(FIXTURE_TABLES)

  const postmasterPid = async (): Promise<number | null> => {
    const text = await fs.readFile(path.join(dataDir, 'postmaster.pid'), 'utf8').catch(() => null)
    const pid = text ? Number.parseInt(text, 10) : Number.NaN
    return Number.isInteger(pid) && pid > 0 ? pid : null
  }

  const self: FaultPostgres = {
    url,
    port,
    dataDir,
    query: (text, values) => pool.query(text, values as unknown[]),
    get running() {
      return handle !== null
    },
    async stop(mode = 'fast') {
      if (!handle) return
      const h = handle
      handle = null
      if (mode === 'immediate') {
        const pid = await postmasterPid()
        if (pid) process.kill(pid, 'SIGQUIT')
      }
      await h.stop()
    },
    async start() {
      if (handle) return
      handle = await startEmbeddedPostgres({ dataDir, port })
    },
    async destroy() {
      await pool.end().catch(() => {})
      await self.stop('fast').catch(() => {})
      await fs.rm(dataDir, { recursive: true, force: true })
    },
  }
  return self
}
