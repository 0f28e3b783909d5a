import {
  Kysely,
  PostgresAdapter,
  PostgresDialect,
  type PostgresDialectConfig,
  sql,
  type Transaction,
} from 'kysely'
import { type Migration, type MigrationProvider, Migrator } from 'kysely/migration'
import pg from 'pg'
import { migrations } from '../../migrations/index.ts'
import type { Logger } from '../logger.ts'
import { migrateBoss } from '../queue/boss.ts'
import { withLibpqSslModes } from './libpq-ssl.ts'

export interface MigrateOptions {
  connectionString: string
  schema: string
  bossSchema: string
  dbBackend: 'postgres' | 'citus' | 'cockroachdb' | 'yugabytedb'
  log: Logger
}

const MIGRATION_TABLE = 'tasklane_migration'

/**
 * The advisory-lock key of "someone is migrating this app": `hashtext('<schema>.migrate')`, so apps
 * with different TASKLANE_SCHEMA never wait for each other. For the default schema it is the key every
 * earlier release took (as a session lock), so old and new processes still exclude each other.
 */
export function migrationLockKey(schema: string) {
  return sql`hashtext(${`${schema}.migrate`})`
}

/**
 * Kysely's Postgres adapter takes a session-level advisory lock with a constant key and releases it in
 * a separate statement. Behind PgBouncer in transaction mode the two land on different server
 * connections (the lock is never released; the next migrate hangs), and the constant key is shared by
 * every app in the database. We run the migrator inside our own transaction, which already holds this
 * app's transaction-scoped lock: taking it again is re-entrant, and commit or rollback releases it.
 */
class TransactionLockAdapter extends PostgresAdapter {
  readonly #schema: string
  constructor(schema: string) {
    super()
    this.#schema = schema
  }
  override async acquireMigrationLock(db: Kysely<any>): Promise<void> {
    await sql`select pg_advisory_xact_lock(${migrationLockKey(this.#schema)})`.execute(db)
  }
  override async releaseMigrationLock(): Promise<void> {}
}

class MigrationDialect extends PostgresDialect {
  readonly #schema: string
  constructor(config: PostgresDialectConfig, schema: string) {
    super(config)
    this.#schema = schema
  }
  override createAdapter() {
    return new TransactionLockAdapter(this.#schema)
  }
}

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

/**
 * Runs `fn` inside one transaction that holds this app's migration lock (pg_advisory_xact_lock).
 * Nothing here is session state: the lock lives and dies with the transaction, which PgBouncer in
 * transaction mode keeps on one server connection, and a client that dies mid-way rolls it back.
 * Processes that start at once queue on the lock; each waiting one holds one connection meanwhile.
 */
async function withMigrationLock<T>(
  connectionString: string,
  schema: string,
  fn: (trx: Transaction<any>) => Promise<T>,
): Promise<T> {
  const pool = new pg.Pool({ connectionString, max: 1, application_name: 'tasklane-migrate' })
  pool.on('error', () => {})
  const db = new Kysely<any>({ dialect: new MigrationDialect({ pool }, schema) })
  try {
    return await db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(${migrationLockKey(schema)})`.execute(trx)
      return fn(trx)
    })
  } finally {
    await db.destroy()
  }
}

/**
 * Applies pg-boss's schema and tasklane's migrations. Safe to run from several processes at once.
 * @example await migrateToLatest({ connectionString, schema: 'tasklane', bossSchema: 'pgboss', dbBackend: 'postgres', log })
 */
export async function migrateToLatest(opts: MigrateOptions): Promise<string[]> {
  const connectionString = withLibpqSslModes(opts.connectionString)
  return withMigrationLock(connectionString, opts.schema, async (trx) => {
    // pg-boss migrates on its own connections, in transactions holding pg-boss's own
    // pg_advisory_xact_lock (keyed by its schema); ours, held meanwhile, keeps two starts from both
    // finding pg-boss uninstalled and both installing it.
    await migrateBoss(
      connectionString,
      { bossSchema: opts.bossSchema, dbBackend: opts.dbBackend, heartbeatTimeoutMs: 30_000 },
      opts.log,
    )
    await sql`CREATE SCHEMA IF NOT EXISTS ${sql.id(opts.schema)}`.execute(trx)
    const { error, results } = await migratorFor(trx, opts.schema).migrateToLatest()
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
  return withMigrationLock(withLibpqSslModes(opts.connectionString), opts.schema, async (trx) => {
    const { error, results } = await migratorFor(trx, opts.schema).migrateDown()
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
