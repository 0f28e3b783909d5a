// Scratch-database lifecycle: every (system, scenario, round) gets its own database so no run
// inherits another's bloat, autovacuum debt or leftover rows.
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
  return ['bench', ...parts]
    .join('_')
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_')
}

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL })
  await client.connect()
  try {
    await client.query(sql)
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
