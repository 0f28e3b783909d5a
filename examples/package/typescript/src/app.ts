// A TypeScript app on tasklane: `npx tsc && DATABASE_URL=postgres://… node dist/app.js`.
// It writes an order and enqueues its confirmation in one Kysely transaction (the task exists iff the
// order does), lets a worker run it, and reads the task's result back from the database.
import { type Generated, Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import { createTasklane, type TaskInfo } from 'tasklane'
import { confirmOrder, tasks } from './tasks.js'

interface ShopDatabase {
  shop_order: { id: string; total: number; confirm_task_id: string; created_at: Generated<Date> }
}

const db = new Kysely<ShopDatabase>({
  dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: process.env.DATABASE_URL }) }),
})
const tasklane = createTasklane({ tasks, workers: 1 })
await tasklane.start()
try {
  await db.schema
    .createTable('shop_order')
    .ifNotExists()
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('total', 'integer', (c) => c.notNull())
    .addColumn('confirm_task_id', 'uuid', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()

  const orderId = `typescript-${Date.now()}`
  const { taskId } = await db.transaction().execute(async (trx) => {
    const enqueued = await tasklane.addTask(confirmOrder, { orderId, total: 42 }, { db: trx })
    await trx
      .insertInto('shop_order')
      .values({ id: orderId, total: 42, confirm_task_id: enqueued.taskId })
      .execute()
    return enqueued
  })

  const info: TaskInfo = await tasklane.waitFor(taskId)
  const history = sql.table(`${tasklane.config.schema}.task_history_v`)
  const { rows } = await sql<{ orderId: string; status: string; result: unknown }>`
    select o.id as "orderId", h.status, h.result
    from shop_order o join ${history} h on h.task_id = o.confirm_task_id
    where o.id = ${orderId}`.execute(db)
  console.log(JSON.stringify({ example: 'typescript', waitedFor: info.status, ...rows[0] }))
} finally {
  await tasklane.stop()
  await db.destroy()
}
