import { type Generated, Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'

const note = defineTask({
  name: 'note',
  async run(args: { text: string }) {
    return { len: args.text.length }
  },
})

/** The application's own tables (created below): what a user's Kysely is typed with. */
interface ShopDatabase {
  orders: { id: Generated<number>; item: string }
}

describe('enqueue inside the caller transaction', () => {
  let db: TestDatabase
  let tasks: Tasklane
  let userDb: Kysely<ShopDatabase>

  beforeAll(async () => {
    db = await createTestDatabase()
    await db.query('create table orders (id serial primary key, item text not null)')
    tasks = await startTasklane(db.url, [note], { workers: 0 })
    userDb = new Kysely<ShopDatabase>({
      dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: db.url, max: 2 }) }),
    })
  })
  afterAll(async () => {
    await userDb?.destroy()
    await tasks?.stop()
    await db?.drop()
  })

  it('creates the task when the transaction commits', async () => {
    const { taskId } = await userDb.transaction().execute(async (trx) => {
      await sql`insert into orders (item) values ('book')`.execute(trx)
      return tasks.addTask(note, { text: 'order placed' }, { db: trx })
    })
    const info = await tasks.getTask(taskId)
    expect(info?.status).toBe('queued')
    expect(info?.args).toEqual({ text: 'order placed' })
  })

  it('leaves no task when the transaction rolls back', async () => {
    let taskId = ''
    await expect(
      userDb.transaction().execute(async (trx) => {
        await sql`insert into orders (item) values ('pen')`.execute(trx)
        ;({ taskId } = await tasks.addTask(note, { text: 'never' }, { db: trx }))
        throw new Error('business rule failed')
      }),
    ).rejects.toThrow('business rule failed')
    expect(taskId).not.toBe('')
    expect(await tasks.getTask(taskId)).toBeNull()
    const { rows } = await db.query(
      `select count(*)::int as n from pgboss.job where data->>'task' = 'note' and data->'args'->>'text' = 'never'`,
    )
    expect(rows[0].n).toBe(0)
  })
})
