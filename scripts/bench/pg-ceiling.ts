// The physical ceiling: how many single-row INSERT commits/s this PostgreSQL does at all. No
// durable queue can settle more tasks/s than this without batching several per commit.
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'
import { createDatabase, dbName, dropDatabase } from './db.ts'
import type { Figure } from './system.ts'

const run = promisify(execFile)

/** pgbench of the server's major version when installed in Debian's layout, else the one on PATH. */
export const PGBENCH =
  [
    '/usr/lib/postgresql/15/bin/pgbench',
    '/usr/lib/postgresql/16/bin/pgbench',
    '/usr/lib/postgresql/17/bin/pgbench',
  ].find(existsSync) ?? 'pgbench'

// Roughly the row a queue writes: a key, a small JSON payload and a timestamp.
const TABLE = `CREATE TABLE ceiling (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  payload jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
)`
const SCRIPT = `INSERT INTO ceiling (payload) VALUES ('{"t": 1}');\n`

/** Whether pgbench can be run at all (the ceiling is skipped, not failed, where it can't). */
export async function pgbenchAvailable(): Promise<boolean> {
  try {
    await run(PGBENCH, ['--version'])
    return true
  } catch {
    return false
  }
}

export interface CeilingOptions {
  round: number
  seconds: number
  clients: number[]
}

export async function pgCeiling({
  round,
  seconds,
  clients: clientCounts,
}: CeilingOptions): Promise<Figure[]> {
  const name = dbName('postgres', 'ceiling', round)
  const url = await createDatabase(name)
  const dir = await mkdtemp(join(tmpdir(), 'tasklane-pgbench-'))
  try {
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    await client.query(TABLE)
    await client.end()
    const file = join(dir, 'insert.sql')
    await writeFile(file, SCRIPT)

    const figures: Figure[] = []
    for (const clients of clientCounts) {
      // -n: no vacuum of pgbench's own tables (we don't have them). -j 2: one thread per core;
      // pgbench caps threads at the client count itself.
      const args = ['-n', '-T', String(seconds), '-c', String(clients), '-j', '2', '-f', file, url]
      const { stdout } = await run(PGBENCH, args)
      const tps = /tps = ([\d.]+)/.exec(stdout)?.[1]
      if (!tps) throw new Error(`pgbench printed no tps:\n${stdout}`)
      figures.push({
        scenario: `insert-${clients}c`,
        system: 'postgres',
        value: Number(tps),
        unit: 'commits/s',
      })
    }
    return figures
  } finally {
    await rm(dir, { recursive: true, force: true })
    await dropDatabase(name)
  }
}
