import { type Kysely, type Selectable, sql } from 'kysely'
import type { Database, TaskProgressTable } from '../db/database.ts'

/** A row of tasklane.task_progress as read. */
export type ProgressRow = Selectable<TaskProgressTable>

/**
 * Upserts the latest progress of a running task, stamped with the database's clock.
 * @returns the stamp (updated_at), for the event announcing this write.
 */
export async function saveProgress(
  db: Kysely<Database>,
  taskId: string,
  percent: number,
  step: string | null,
): Promise<Date> {
  const row = await db
    .insertInto('task_progress')
    .values({ task_id: taskId, percent, step, updated_at: sql<Date>`now()` })
    .onConflict((oc) =>
      oc.column('task_id').doUpdateSet((eb) => ({
        percent: eb.ref('excluded.percent'),
        step: eb.ref('excluded.step'),
        updated_at: eb.ref('excluded.updated_at'),
      })),
    )
    .returning('updated_at')
    .executeTakeFirstOrThrow()
  return row.updated_at
}

export async function findProgress(db: Kysely<Database>, taskId: string): Promise<ProgressRow | null> {
  const row = await db
    .selectFrom('task_progress')
    .selectAll()
    .where('task_id', '=', taskId)
    .executeTakeFirst()
  return row ?? null
}

export async function findProgressMany(
  db: Kysely<Database>,
  taskIds: string[],
): Promise<Map<string, ProgressRow>> {
  if (taskIds.length === 0) return new Map()
  const rows = await db.selectFrom('task_progress').selectAll().where('task_id', 'in', taskIds).execute()
  return new Map(rows.map((r) => [r.task_id, r]))
}
