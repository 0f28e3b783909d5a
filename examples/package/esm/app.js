// A plain-JavaScript ESM app on tasklane: `DATABASE_URL=postgres://… node app.js`.
// It writes an order and enqueues its confirmation in one Kysely transaction (the task exists iff the
// order does), lets a worker run it, and reads the task's result back from the database.
import { Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import { createTasklane } from 'tasklane'
import { dashboardRoutes } from 'tasklane/dashboard'
import { confirmOrder, tasks } from './tasks.js'

const db = new Kysely({
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
    .execute()

  const orderId = `esm-${Date.now()}`
  const { taskId } = await db.transaction().execute(async (trx) => {
    const enqueued = await tasklane.addTask(confirmOrder, { orderId, total: 42 }, { db: trx })
    await trx
      .insertInto('shop_order')
      .values({ id: orderId, total: 42, confirm_task_id: enqueued.taskId })
      .execute()
    return enqueued
  })

  await tasklane.waitFor(taskId)
  const history = sql.table(`${tasklane.config.schema}.task_history_v`)
  const { rows } = await sql`
    select o.id as "orderId", h.status, h.result
    from shop_order o join ${history} h on h.task_id = o.confirm_task_id
    where o.id = ${orderId}`.execute(db)
  // The dashboard mounted in the app's own routes (here asked directly, without a server).
  const dashboard = await dashboardRoutes({ tasks: tasklane }).request('/')
  console.log(JSON.stringify({ example: 'esm', ...rows[0], dashboard: dashboard.status }))
} finally {
  await tasklane.stop()
  await db.destroy()
}
