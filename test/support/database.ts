import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { inject } from 'vitest'

// biome-ignore lint/suspicious/noExplicitAny: a row of ad-hoc SQL; each test reads the columns it selected
type SqlRow = any

export interface TestDatabase {
  url: string
  name: string
  /** A client on the test database, for assertions in plain SQL. */
  query<T extends pg.QueryResultRow = SqlRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<T>>
  drop(): Promise<void>
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url)
  u.pathname = `/${database}`
  return u.toString()
}

/**
 * A fresh database cloned from the migrated template, for one test file (or one test).
 * @example const db = await createTestDatabase(); afterAll(() => db.drop())
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const templateUrl = inject('templateUrl')
  const template = new URL(templateUrl).pathname.slice(1)
  const parentPid = template.split('_').at(-1)
  const name = `tasklane_t_${parentPid}_${randomBytes(4).toString('hex')}`
  const admin = new pg.Client({ connectionString: withDatabase(templateUrl, 'postgres') })
  await admin.connect()
  try {
    // Two clones of one template at the same moment can fail with "being accessed by other users".
    for (let attempt = 0; ; attempt++) {
      try {
        await admin.query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`)
        break
      } catch (err) {
        if (attempt > 50 || !/being accessed by other users/.test((err as Error).message)) throw err
        await new Promise((r) => setTimeout(r, 50 + Math.random() * 100))
      }
    }
  } finally {
    await admin.end()
  }
  const url = withDatabase(templateUrl, name)
  const pool = new pg.Pool({ connectionString: url, max: 2 })
  pool.on('error', () => {})
  return {
    url,
    name,
    query: (text, values) => pool.query(text, values),
    async drop() {
      await pool.end()
      const c = new pg.Client({ connectionString: withDatabase(templateUrl, 'postgres') })
      await c.connect()
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
      await c.end()
    },
  }
}
