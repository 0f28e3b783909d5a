import type { Kysely } from 'kysely'
import type { Database } from './database.ts'
import { pendingMigrations } from './migrate.ts'

/** Whether the database can serve this process: the tasklane migrations it still lacks (none: ready). */
export interface Readiness {
  pendingMigrations: string[]
}

/**
 * Asks the database whether it is ready: reading the applied migrations is the query that proves it
 * answers, so an unreachable database throws the driver's error here (GET /ready answers 503).
 * @example await checkReadiness(db, 'tasklane') // { pendingMigrations: [] }
 */
export async function checkReadiness(db: Kysely<Database>, schema: string): Promise<Readiness> {
  return { pendingMigrations: await pendingMigrations(db, schema) }
}
