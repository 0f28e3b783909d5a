import type { Config } from '../config.ts'
import { migrateToLatest } from '../db/migrate.ts'
import type { Logger } from '../logger.ts'

/** `tasklane migrate`: pg-boss's schema and tasklane's migrations, then exit. */
export async function runMigrate({
  config,
  log,
}: {
  config: Readonly<Config>
  log: Logger
}): Promise<number> {
  let connectionString = config.databaseUrl
  let stop: (() => Promise<void>) | null = null
  if (!connectionString) {
    const { startEmbeddedPostgres } = await import('../db/embedded-postgres.ts')
    const embedded = await startEmbeddedPostgres({
      dataDir: config.embeddedDataDir,
      port: config.embeddedPort,
    })
    connectionString = embedded.connectionString
    stop = () => embedded.stop()
  }
  try {
    const applied = await migrateToLatest({
      connectionString,
      schema: config.schema,
      bossSchema: config.bossSchema,
      dbBackend: config.dbBackend,
      log,
    })
    console.log(
      applied.length > 0 ? `tasklane: applied ${applied.join(', ')}` : 'tasklane: schema is up to date',
    )
    return 0
  } finally {
    await stop?.()
  }
}
