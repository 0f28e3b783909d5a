import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { engineOf } from '../../src/internal.ts'
import { bossPool } from '../../src/queue/boss.ts'
import { leaseStatement } from '../../src/queue/lease.repository.ts'
import { NamedStatements, statementName } from '../../src/queue/named-statements.ts'
import type { Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'

// The enqueue insert and the lease run as named statements on a direct connection (parsed once per
// connection), and fall back to unnamed ones where a connection does not keep them.

const echo = defineTask({ name: 'echo', queue: 'named', run: async (args: { n: number }) => args.n })

let db: TestDatabase
let tasks: Tasklane

/** Names of tasklane's prepared statements on every connection of `pool` (each checked out at once). */
async function preparedOnPool(pool: pg.Pool): Promise<string[]> {
  const clients = await Promise.all(Array.from({ length: pool.totalCount }, () => pool.connect()))
  try {
    const answers = await Promise.all(
      clients.map((c) =>
        c.query<{ name: string }>(`select name from pg_prepared_statements where name like 'tasklane\\_%'`),
      ),
    )
    return answers.flatMap((a) => a.rows.map((r) => r.name))
  } finally {
    for (const c of clients) c.release()
  }
}

/** A pool of one connection, so that what one call prepared the next call finds. */
const onePool = () => new pg.Pool({ connectionString: db.url, max: 1 })

beforeAll(async () => {
  db = await createTestDatabase()
  tasks = await startTasklane(db.url, [echo])
})

afterAll(async () => {
  await tasks?.stop()
  await db?.drop()
})

describe('named statements', () => {
  it('runs the group-committed insert and the lease as named statements on a direct connection', async () => {
    for (let n = 0; n < 3; n++) {
      const { taskId } = await tasks.addTask(echo, { n })
      await expect(tasks.waitFor(taskId, { timeout: 30_000 })).resolves.toMatchObject({ result: n })
    }
    const engine = engineOf(tasks)
    const { rows } = await db.query(`select table_name from pgboss.queue where name = 'named'`)
    const lease = statementName(leaseStatement('pgboss', rows[0].table_name))
    // Polled: a connection busy elsewhere (a heartbeat, a liveness pass) is not read at that instant.
    // The insert on tasklane's pool; the lease on pg-boss's (its planner settings).
    await vi.waitFor(async () => expect(await preparedOnPool(engine.runtime.db.pool)).not.toEqual([]), {
      timeout: 10_000,
    })
    await vi.waitFor(
      async () => expect(await preparedOnPool(bossPool(engine.runtime.store.boss)!)).toContain(lease),
      { timeout: 10_000 },
    )
  })

  it('runs a statement named, and once unnamed when its connection lost the prepared one', async () => {
    const pool = onePool()
    const named = new NamedStatements(true)
    try {
      await pool.query('create table written (n int)')
      const text = 'insert into written values ($1) returning n + 1 as next'
      expect((await named.query(pool, text, [1])).rows).toEqual([{ next: 2 }])
      const { rows } = await pool.query<{ name: string }>('select name from pg_prepared_statements')
      expect(rows.map((r) => r.name)).toEqual([statementName(text)])
      // What a transaction-mode pooler does: the next call lands where the statement was never prepared.
      await pool.query('deallocate all')
      expect((await named.query(pool, text, [41])).rows).toEqual([{ next: 42 }])
      expect(named.enabled).toBe(false)
      // Each call inserted once: the refused Bind ran nothing.
      expect((await pool.query('select n from written order by n')).rows).toEqual([{ n: 1 }, { n: 41 }])
      await named.query(pool, 'select $1::int as m', [7])
      expect((await pool.query('select name from pg_prepared_statements')).rows).toEqual([])
    } finally {
      await pool.end()
    }
  })

  it('runs a statement unnamed when its name is taken on the connection by another text', async () => {
    const pool = onePool()
    const named = new NamedStatements(true)
    try {
      const text = 'select $1::int * 2 as doubled'
      await pool.query(`prepare ${statementName(text)} as select 0`)
      expect((await named.query(pool, text, [21])).rows).toEqual([{ doubled: 42 }])
      expect(named.enabled).toBe(false)
    } finally {
      await pool.end()
    }
  })

  it('never names a statement when told not to (behind PgBouncer)', async () => {
    const pool = onePool()
    try {
      const named = new NamedStatements(false)
      expect((await named.query(pool, 'select $1::text as s', ['x'])).rows).toEqual([{ s: 'x' }])
      expect((await pool.query('select name from pg_prepared_statements')).rows).toEqual([])
    } finally {
      await pool.end()
    }
  })
})
