import knex from 'knex'
import pg from 'pg'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type CallerDb, callerKysely } from '../../src/enqueue/caller-db.ts'
import type { Tasklane } from '../../src/tasklane.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'
import { shipOrder } from './support/client-contract.ts'

// A handle that is not one transaction would let the task commit on its own (or the business row
// roll back without it): each is refused before anything is written, saying what to pass instead.
describe('db handles that are not a transaction', () => {
  let db: TestDatabase
  let tasks: Tasklane
  const handles: {
    name: string
    make(url: string): { db: unknown; close(): Promise<void> }
    says: RegExp
  }[] = [
    {
      name: 'a pg.Pool',
      make: (url) => {
        const pool = new pg.Pool({ connectionString: url })
        return { db: pool, close: () => pool.end() }
      },
      says: /pg\.Pool.*pool\.connect\(\).*BEGIN/,
    },
    {
      name: "postgres.js's root sql",
      make: (url) => {
        const sql = postgres(url, { max: 1 })
        return { db: sql, close: () => sql.end() }
      },
      says: /sql\.begin\(async \(tx\)/,
    },
    {
      name: 'a Knex instance',
      make: (url) => {
        const k = knex({ client: 'pg', connection: url })
        return { db: k, close: () => k.destroy() }
      },
      says: /knex\.transaction\(async \(trx\)/,
    },
    { name: 'a plain object', make: () => ({ db: {}, close: async () => {} }), says: /not a transaction/ },
  ]

  beforeAll(async () => {
    db = await createTestDatabase()
    tasks = await startTasklane(db.url, [shipOrder], { workers: 0 })
  })
  afterAll(async () => {
    await tasks?.stop()
    await db?.drop()
  })

  for (const h of handles) {
    it(`refuses ${h.name}, naming what to pass, and writes nothing`, async () => {
      const handle = h.make(db.url)
      // Not a transaction: passed as one on purpose, as a user without types could.
      const refused = handle.db as CallerDb
      try {
        expect(() => callerKysely(refused)).toThrow(h.says)
        await expect(
          tasks.addTask(shipOrder, { item: `refused:${h.name}` }, { db: refused }),
        ).rejects.toThrow(TypeError)
        const { rows } = await db.query(
          `select count(*)::int as n from pgboss.job where data->'args'->>'item' = $1`,
          [`refused:${h.name}`],
        )
        expect(rows[0].n).toBe(0)
      } finally {
        await handle.close()
      }
    })
  }
})
