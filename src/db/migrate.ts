import { Kysely, PostgresDialect, sql } from 'kysely'
import { type Migration, type MigrationProvider, Migrator } from 'kysely/migration'
import pg from 'pg'
import { migrations } from '../../migrations/index.ts'
import type { Logger } from '../logger.ts'
import { migrateBoss } from '../queue/boss.ts'

export interface MigrateOptions {
  connectionString: string
  schema: string
  bossSchema: string
  dbBackend: 'postgres' | 'citus' | 'cockroachdb' | 'yugabytedb'
  log: Logger
}

const MIGRATION_TABLE = 'tasklane_migration'
// One advisory lock key for "someone is migrating tasklane": concurrent `tasklane migrate` or start()
// calls queue up behind it instead of racing on CREATE SCHEMA / CREATE TABLE.
const MIGRATE_LOCK = sql`pg_advisory_lock(hashtext('tasklane.migrate'))`
const MIGRATE_UNLOCK = sql`pg_advisory_unlock(hashtext('tasklane.migrate'))`

function provider(schema: string): MigrationProvider {
  return {
    async getMigrations() {
      const out: Record<string, Migration> = {}
      for (const [name, m] of Object.entries(migrations)) {
        out[name] = { up: (db) => m.up(db, schema), down: (db) => m.down(db, schema) }
      }
      return out
    },
  }
}

function migratorFor(db: Kysely<any>, schema: string): Migrator {
  return new Migrator({
    db,
    provider: provider(schema),
    migrationTableSchema: schema,
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: `${MIGRATION_TABLE}_lock`,
    // Migration numbers are handed out ahead of time to work landing in parallel, so one can land
    // after a higher number was applied somewhere (0006 after 0007): apply it rather than refuse.
    allowUnorderedMigrations: true,
  })
}

/** Runs `fn` with a single-connection Kysely holding the migration advisory lock. */
async function withMigrationLock<T>(
  connectionString: string,
  fn: (db: Kysely<any>) => Promise<T>,
): Promise<T> {
  const pool = new pg.Pool({ connectionString, max: 1, application_name: 'tasklane-migrate' })
  pool.on('error', () => {})
  const db = new Kysely<any>({ dialect: new PostgresDialect({ pool }) })
  try {
    await sql`select ${MIGRATE_LOCK}`.execute(db)
    try {
      return await fn(db)
    } finally {
      await sql`select ${MIGRATE_UNLOCK}`.execute(db)
    }
  } finally {
    await db.destroy()
  }
}

/**
 * Applies pg-boss's schema and tasklane's migrations. Safe to run from several processes at once.
 * @example await migrateToLatest({ connectionString, schema: 'tasklane', bossSchema: 'pgboss', dbBackend: 'postgres', log })
 */
export async function migrateToLatest(opts: MigrateOptions): Promise<string[]> {
  return withMigrationLock(opts.connectionString, async (db) => {
    await migrateBoss(
      opts.connectionString,
      { bossSchema: opts.bossSchema, dbBackend: opts.dbBackend, heartbeatTimeoutMs: 30_000 },
      opts.log,
    )
    await sql`CREATE SCHEMA IF NOT EXISTS ${sql.id(opts.schema)}`.execute(db)
    const { error, results } = await migratorFor(db, opts.schema).migrateToLatest()
    if (error)
      throw new Error(`tasklane migration failed: ${(error as Error).message ?? String(error)}`, {
        cause: error,
      })
    const applied = (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName)
    if (applied.length > 0) opts.log.info({ applied }, 'tasklane migrations applied')
    return applied
  })
}

/** Reverts the latest tasklane migration (pg-boss's schema is left alone). */
export async function migrateDown(opts: MigrateOptions): Promise<string[]> {
  return withMigrationLock(opts.connectionString, async (db) => {
    const { error, results } = await migratorFor(db, opts.schema).migrateDown()
    if (error)
      throw new Error(`tasklane migration down failed: ${(error as Error).message}`, { cause: error })
    return (results ?? []).map((r) => r.migrationName)
  })
}

/** Names of tasklane migrations not yet applied (all of them when the schema does not exist). */
export async function pendingMigrations(db: Kysely<any>, schema: string): Promise<string[]> {
  const exists = await sql<{ ok: boolean }>`
    select to_regclass(${`${schema}.${MIGRATION_TABLE}`}) is not null as ok`.execute(db)
  const all = Object.keys(migrations)
  if (!exists.rows[0]?.ok) return all
  const done = await sql<{
    name: string
  }>`select name from ${sql.table(`${schema}.${MIGRATION_TABLE}`)}`.execute(db)
  const applied = new Set(done.rows.map((r) => r.name))
  return all.filter((name) => !applied.has(name))
}
