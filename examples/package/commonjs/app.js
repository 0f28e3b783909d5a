// A CommonJS app on tasklane: `DATABASE_URL=postgres://… node app.js`.
// It writes an order and enqueues its confirmation in one Kysely transaction (the task exists iff the
// order does), lets a worker run it, and reads the task's result back from the database.
const { Kysely, PostgresDialect, sql } = require('kysely')
const pg = require('pg')
const { createTasklane } = require('tasklane')
const { confirmOrder, tasks } = require('./tasks.js')

async function main() {
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

    const orderId = `commonjs-${Date.now()}`
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
    console.log(JSON.stringify({ example: 'commonjs', ...rows[0] }))
  } finally {
    await tasklane.stop()
    await db.destroy()
  }
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
