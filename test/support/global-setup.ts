import { execFileSync } from 'node:child_process'
import { rm } from 'node:fs/promises'
import { type AddressInfo, createServer } from 'node:net'
import path from 'node:path'
import pg from 'pg'
import type { TestProject } from 'vitest/node'
import { loadConfig } from '../../src/config.ts'
import { migrateToLatest } from '../../src/db/migrate.ts'
import { createLogger } from '../../src/logger.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    /** A URL of the server with a migrated template database (its path names the template). */
    templateUrl: string
  }
}

let teardown: Array<() => Promise<void>> = []

/** DATABASE_URL if set; else a Postgres container where Docker answers; else the embedded Postgres. */
async function pickServer(): Promise<string> {
  const config = loadConfig()
  if (config.databaseUrl) return config.databaseUrl
  if (dockerAnswers()) {
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql')
    const container = await new PostgreSqlContainer('postgres:16-alpine').start()
    teardown.push(async () => {
      await container.stop()
    })
    return container.getConnectionUri()
  }
  // A server of this run's own (data dir and port), so that concurrent test runs never stop each
  // other's server (starting the embedded Postgres takes over a data dir a live server holds).
  const { startEmbeddedPostgres } = await import('../../src/db/embedded-postgres.ts')
  const dataDir = path.resolve(`.tasklane/test-pgdata-${process.pid}`)
  const embedded = await startEmbeddedPostgres({ dataDir, port: await freePort() })
  teardown.push(async () => {
    await embedded.stop()
    await rm(dataDir, { recursive: true, force: true })
  })
  return embedded.connectionString
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      server.close(() => resolve(port))
    })
  })
}

function dockerAnswers(): boolean {
  try {
    execFileSync('docker', ['info', '--format', '{{.ServerVersion}}'], { stdio: 'pipe', timeout: 3_000 })
    return true
  } catch {
    return false
  }
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url)
  u.pathname = `/${database}`
  return u.toString()
}

export default async function setup(project: TestProject) {
  const serverUrl = await pickServer()
  const template = `tasklane_tpl_${process.pid}`
  const admin = new pg.Client({ connectionString: serverUrl })
  await admin.connect()
  await admin.query(`DROP DATABASE IF EXISTS ${template}`)
  await admin.query(`CREATE DATABASE ${template}`)
  await admin.end()
  const templateUrl = withDatabase(serverUrl, template)
  await migrateToLatest({
    connectionString: templateUrl,
    schema: 'tasklane',
    bossSchema: 'pgboss',
    dbBackend: 'postgres',
    log: createLogger('silent'),
  })
  project.provide('templateUrl', templateUrl)
  return async () => {
    const c = new pg.Client({ connectionString: serverUrl })
    await c.connect()
    // Leftover per-file databases (a crashed file) go too.
    const { rows } = await c.query<{ datname: string }>(
      `select datname from pg_database where datname like $1`,
      [`tasklane_t_${process.pid}_%`],
    )
    for (const { datname } of rows) await c.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`)
    await c.query(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`)
    await c.end()
    for (const t of teardown.reverse()) await t()
    teardown = []
  }
}
