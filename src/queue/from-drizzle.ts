import type { SqlExecutor } from '../enqueue/caller-db.ts'
import { fromDrizzle as bossFromDrizzle } from './boss.ts'

// tasklane's own declaration of pg-boss's Drizzle adapter. Re-exporting pg-boss's function would put
// pg-boss's .d.ts files into every consumer's program, and pg-boss 12.38's do not type-check
// (skipLibCheck: false fails on them); these shapes are pg-boss's, written out.

/**
 * A Drizzle transaction (the `tx` of `db.transaction(async (tx) => …)`, node-postgres driver), as far
 * as the adapter uses it.
 * @example await db.transaction((tx) => tasks.addTask(sendReceipt, { id: 1 }, { db: fromDrizzle(tx, sql) }))
 */
export interface DrizzleTransactionLike {
  /** Drizzle's `tx.execute(sql`…`)`, which the adapter runs tasklane's statements with. */
  execute(query: unknown): Promise<{ rows: any[] } | { rows: any[] }[] | any[]>
}

/**
 * Drizzle's `sql` tagged template (from `drizzle-orm`).
 * @example import { sql } from 'drizzle-orm'
 */
export interface DrizzleSqlTagLike {
  (strings: TemplateStringsArray, ...values: unknown[]): unknown
  /** `sql.param(value)`: binds one value as a parameter. */
  param(value: unknown): unknown
}

/**
 * Wraps a Drizzle transaction so tasklane enqueues inside it (pg-boss's adapter): pass the result as
 * `db` to addTask/addTasks, and the task exists iff the transaction commits (docs/enqueue.md). Takes
 * the transaction, not the root `db`, which would run each statement on any connection.
 * @example
 * await db.transaction(async (tx) => {
 *   await tx.insert(orders).values(order)
 *   await tasks.addTask(sendReceipt, { orderId: order.id }, { db: fromDrizzle(tx, sql) })
 * })
 */
export function fromDrizzle(tx: DrizzleTransactionLike, sql: DrizzleSqlTagLike): SqlExecutor {
  return bossFromDrizzle(tx, sql)
}
