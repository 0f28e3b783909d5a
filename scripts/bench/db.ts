// Scratch-database lifecycle: every (system, scenario, round) gets its own database so no run
// inherits another's bloat, autovacuum debt or leftover rows. Names carry this process's pid, so
// two benchmark runs at once (a smoke test beside a full run) never drop each other's databases.
import pg from 'pg'

export const ADMIN_URL = process.env.BENCH_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

/** The admin URL with its database name replaced. */
export function urlFor(database: string): string {
  const url = new URL(ADMIN_URL)
  url.pathname = `/${database}`
  return url.toString()
}

/** Lower-case, underscores only: safe to interpolate as an unquoted identifier. */
export function dbName(...parts: Array<string | number>): string {
  return ['bench', process.pid, ...parts]
    .join('_')
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_')
    .slice(0, 63)
}

async function admin<T extends pg.QueryResultRow>(sql: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: ADMIN_URL })
  await client.connect()
  try {
    return (await client.query<T>(sql, values)).rows
  } finally {
    await client.end()
  }
}

export async function createDatabase(name: string): Promise<string> {
  // A previous run that crashed may have left it behind.
  await dropDatabase(name)
  await admin(`CREATE DATABASE ${name}`)
  return urlFor(name)
}

export async function dropDatabase(name: string): Promise<void> {
  // FORCE: a worker pool that didn't close cleanly must not block the drop.
  await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Drops databases left by benchmark runs of this machine that died before cleaning up. */
export async function dropStaleDatabases(): Promise<string[]> {
  const rows = await admin<{ datname: string }>(
    `select datname from pg_database where datname ~ '^bench_[0-9]+_'`,
  )
  const stale = rows.map((r) => r.datname).filter((name) => !alive(Number(name.split('_')[1])))
  for (const name of stale) await dropDatabase(name)
  return stale
}
