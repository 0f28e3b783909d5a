import { type Kysely, sql } from 'kysely'

/**
 * The database's clock: now() (inside a transaction, the transaction's start). tasklane records and
 * compares every instant on this one clock — the one pg-boss stamps createdAt and startAfter with —
 * so a process whose own clock is wrong cannot put a task's start before its creation.
 * @example const now = await databaseNow(trx)
 */
export async function databaseNow(db: Kysely<any>): Promise<Date> {
  const { rows } = await sql<{ now: Date }>`select now() as now`.execute(db)
  return rows[0]!.now
}
