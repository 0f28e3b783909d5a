import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDb, type Db } from '../../src/db/create-db.ts'
import { scopedSchema } from '../../src/db/scoped-schema.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'

// scopedSchema names the NOTIFY channel; it remembers its answer per plugin list, so an instance
// scoped elsewhere, or a transaction of it, must never be given another instance's answer.
describe('scopedSchema', () => {
  let database: TestDatabase
  let a: Db
  let b: Db
  beforeAll(async () => {
    database = await createTestDatabase()
    a = createDb({ connectionString: database.url, schema: 'alpha', max: 2 })
    b = createDb({ connectionString: database.url, schema: 'beta', max: 2 })
  })
  afterAll(async () => {
    await a?.close()
    await b?.close()
    await database?.drop()
  })

  it('reads the schema of an instance, of its transactions, and of one scoped again', async () => {
    for (let round = 0; round < 2; round++) {
      expect(scopedSchema(a.kysely)).toBe('alpha')
      expect(scopedSchema(b.kysely)).toBe('beta')
      expect(scopedSchema(a.kysely.withSchema('gamma'))).toBe('gamma')
      expect(await a.kysely.transaction().execute(async (trx) => scopedSchema(trx))).toBe('alpha')
      expect(await b.kysely.transaction().execute(async (trx) => scopedSchema(trx))).toBe('beta')
      expect(scopedSchema(a.kysely.withoutPlugins())).toBeUndefined()
    }
  })
})
