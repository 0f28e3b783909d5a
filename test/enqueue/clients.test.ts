import { sql as drizzleSql } from 'drizzle-orm'
import { drizzle } from 'drizzle-orm/node-postgres'
import { pgTable, serial, text } from 'drizzle-orm/pg-core'
import knex from 'knex'
import { type Generated, Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import postgres from 'postgres'
import type { CallerDb } from '../../src/enqueue/caller-db.ts'
import { fromDrizzle } from '../../src/index.ts'
import { type ClientHarness, describeClientContract } from './support/client-contract.ts'

// One contract (support/client-contract.ts), run with each client library on the real database.

/** BEGIN … COMMIT/ROLLBACK by hand on a node-postgres client, as its users write it. */
async function inPgTransaction<T>(
  client: pg.ClientBase,
  db: (client: pg.ClientBase) => CallerDb,
  work: Parameters<ClientHarness['transaction']>[0],
): Promise<T> {
  await client.query('BEGIN')
  try {
    const result = await work({
      db: db(client),
      insertOrder: async (item) => {
        await client.query('insert into orders (item) values ($1)', [item])
      },
    })
    await client.query('COMMIT')
    return result as T
  } catch (err) {
    await client.query('ROLLBACK')
    throw err
  }
}

describeClientContract('node-postgres PoolClient', async (url) => {
  const pool = new pg.Pool({ connectionString: url, max: 2 })
  return {
    async transaction(work) {
      const client = await pool.connect()
      try {
        return await inPgTransaction(client, (c) => c, work)
      } finally {
        client.release()
      }
    },
    close: () => pool.end(),
  }
})

describeClientContract('node-postgres Client', async (url) => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  return {
    transaction: (work) => inPgTransaction(client, (c) => c, work),
    close: () => client.end(),
  }
})

describeClientContract('{ query } returning rows', async (url) => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  // Any driver reduced to query(text, values) → rows.
  const bare = (c: pg.ClientBase) => ({
    query: async (text: string, values?: unknown[]) => (await c.query(text, values)).rows,
  })
  return {
    transaction: (work) => inPgTransaction(client, bare, work),
    close: () => client.end(),
  }
})

describeClientContract('Kysely', async (url) => {
  const db = new Kysely<{ orders: { id: Generated<number>; item: string } }>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 2 }) }),
  })
  return {
    transaction: (work) =>
      db.transaction().execute((trx) =>
        work({
          db: trx,
          insertOrder: async (item) => {
            await sql`insert into orders (item) values (${item})`.execute(trx)
          },
        }),
      ),
    close: () => db.destroy(),
  }
})

const ordersTable = pgTable('orders', { id: serial('id').primaryKey(), item: text('item').notNull() })

describeClientContract('Drizzle (node-postgres)', async (url) => {
  const pool = new pg.Pool({ connectionString: url, max: 2 })
  const db = drizzle({ client: pool })
  return {
    transaction: (work) =>
      db.transaction((tx) =>
        work({
          db: fromDrizzle(tx, drizzleSql),
          insertOrder: async (item) => {
            await tx.insert(ordersTable).values({ item })
          },
        }),
      ),
    close: () => pool.end(),
  }
})

describeClientContract('Knex', async (url) => {
  const db = knex({ client: 'pg', connection: url, pool: { min: 0, max: 2 } })
  return {
    transaction: (work) =>
      db.transaction((trx) =>
        work({
          db: trx,
          insertOrder: async (item) => {
            await trx('orders').insert({ item })
          },
        }),
      ),
    close: () => db.destroy(),
  }
})

describeClientContract('postgres.js', async (url) => {
  const db = postgres(url, { max: 2, onnotice: () => {} })
  return {
    transaction: async (work) =>
      (await db.begin((tx) =>
        work({
          db: tx,
          insertOrder: async (item) => {
            await tx`insert into orders (item) values (${item})`
          },
        }),
      )) as Awaited<ReturnType<typeof work>>,
    close: () => db.end(),
  }
})
