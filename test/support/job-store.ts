import type { Kysely } from 'kysely'
import type { Config } from '../../src/config.ts'
import type { Database } from '../../src/db/database.ts'
import { createLogger } from '../../src/logger.ts'
import { createBoss, type PgBoss } from '../../src/queue/boss.ts'
import { BossJobStore } from '../../src/queue/boss-job-store.ts'

/**
 * A job store over pg-boss's tables for tests that build services by hand (Maintenance, Heartbeat):
 * over `boss` when given (started by the caller), else over a pg-boss never started (it opens
 * connections only on start(); the reads and tasklane's own SQL run on `db`).
 */
export function jobStoreFor(
  db: Kysely<Database>,
  config: Pick<Config, 'bossSchema' | 'schema'> & Partial<Pick<Config, 'dbBackend' | 'heartbeatTimeoutMs'>>,
  { boss, connectionString = 'postgres://unused' }: { boss?: PgBoss; connectionString?: string } = {},
): BossJobStore {
  const full = { dbBackend: 'postgres' as const, heartbeatTimeoutMs: 30_000, ...config }
  return new BossJobStore({
    boss:
      boss ?? createBoss({ connectionString, config: full, supervise: false, log: createLogger('silent') }),
    db,
    bossSchema: full.bossSchema,
    schema: full.schema,
    heartbeatSeconds: Math.ceil(full.heartbeatTimeoutMs / 1000),
    dbBackend: full.dbBackend,
  })
}
