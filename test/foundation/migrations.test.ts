import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { migrateDown, migrateToLatest } from '../../src/db/migrate.ts'
import { createLogger } from '../../src/logger.ts'

const log = createLogger('silent')

describe('migrations', () => {
  const name = `tasklane_mig_${randomBytes(4).toString('hex')}`
  let url: string
  let adminUrl: string
  let client: pg.Client

  beforeAll(async () => {
    const u = new URL(inject('templateUrl'))
    u.pathname = '/postgres'
    adminUrl = u.toString()
    const admin = new pg.Client({ connectionString: adminUrl })
    await admin.connect()
    await admin.query(`CREATE DATABASE ${name}`)
    await admin.end()
    u.pathname = `/${name}`
    url = u.toString()
    client = new pg.Client({ connectionString: url })
    await client.connect()
  })
  afterAll(async () => {
    await client?.end()
    const admin = new pg.Client({ connectionString: adminUrl })
    await admin.connect()
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    await admin.end()
  })

  const tables = async () =>
    (
      await client.query<{ t: string }>(
        `select table_schema || '.' || table_name as t from information_schema.tables
         where table_schema in ('tasklane', 'pgboss') and table_type = 'BASE TABLE' order by 1`,
      )
    ).rows.map((r) => r.t)

  const opts = () => ({
    connectionString: url,
    schema: 'tasklane',
    bossSchema: 'pgboss',
    dbBackend: 'postgres' as const,
    log,
  })

  it('applies pg-boss and tasklane schemas, safely from several processes at once', async () => {
    const results = await Promise.all([
      migrateToLatest(opts()),
      migrateToLatest(opts()),
      migrateToLatest(opts()),
    ])
    // Exactly one of the concurrent runs applied each migration; the others found nothing to do.
    expect(results.flat().filter((m) => m === '0001_initial')).toHaveLength(1)
    const t = await tables()
    expect(t).toEqual(
      expect.arrayContaining([
        'pgboss.job',
        'tasklane.task_history',
        'tasklane.task_attempt',
        'tasklane.worker_process',
      ]),
    )
  })

  it('reverts with down and re-applies with up', async () => {
    const all = Object.keys((await import('../../migrations/index.ts')).migrations)
    for (let i = 0; i < all.length; i++) await migrateDown(opts())
    expect((await tables()).filter((t) => t.startsWith('tasklane.task_'))).toEqual([])
    await migrateToLatest(opts())
    expect(await tables()).toContain('tasklane.task_history')
  })
})
