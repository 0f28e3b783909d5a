import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import type { Database } from './database.ts'

// jsonb and timestamptz come back parsed by pg; bigint (int8) counts come back as strings, which is
// what we want for totals that may exceed 2^53 and convert explicitly where they are read.

export interface Db {
  /** Kysely scoped to tasklane's schema: unqualified table names resolve there. */
  kysely: Kysely<Database>
  /** The pool underneath, shared with pg-boss so the process holds one set of connections. */
  pool: pg.Pool
  close(): Promise<void>
}

export interface CreateDbOptions {
  connectionString: string
  schema: string
  /** Pool size; tasklane needs a few connections per busy queue plus the API's. */
  max?: number
  applicationName?: string
}

/**
 * A Kysely instance over a `pg` Pool, scoped to `schema`.
 * @example const db = createDb({ connectionString, schema: 'tasklane' })
 */
export function createDb({
  connectionString,
  schema,
  max = 20,
  applicationName = 'tasklane',
}: CreateDbOptions): Db {
  const pool = new pg.Pool({
    connectionString,
    max,
    application_name: applicationName,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
  })
  // An idle client that loses its connection (database restart, pg_terminate_backend) emits 'error'
  // on the pool; without a listener that would crash the process. The next checkout reconnects.
  pool.on('error', () => {})
  // The pool listens for errors only while a client is idle in it: a connection lost while checked
  // out (mid-query, or between a transaction's statements) would emit 'error' with no listener, an
  // uncaught exception that kills the process. The failed query still rejects on its own.
  pool.on('connect', (client) => client.on('error', () => {}))
  const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }).withSchema(schema)
  let closed = false
  return {
    kysely,
    pool,
    async close() {
      if (closed) return
      closed = true
      await kysely.destroy()
    },
  }
}
