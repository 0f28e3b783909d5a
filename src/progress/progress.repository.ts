import type { Kysely } from 'kysely'
import type { Database } from '../db/database.ts'

export interface ProgressRow {
  task_id: string
  percent: number
  step: string | null
  updated_at: Date
}

/** Upserts the latest progress of a running task. */
export async function saveProgress(
  db: Kysely<Database>,
  taskId: string,
  percent: number,
  step: string | null,
) {
  await db
    .insertInto('task_progress')
    .values({ task_id: taskId, percent, step, updated_at: new Date() })
    .onConflict((oc) =>
      oc.column('task_id').doUpdateSet((eb) => ({
        percent: eb.ref('excluded.percent'),
        step: eb.ref('excluded.step'),
        updated_at: eb.ref('excluded.updated_at'),
      })),
    )
    .execute()
}

export async function findProgress(db: Kysely<Database>, taskId: string): Promise<ProgressRow | null> {
  const row = await db
    .selectFrom('task_progress')
    .selectAll()
    .where('task_id', '=', taskId)
    .executeTakeFirst()
  return (row as ProgressRow | undefined) ?? null
}

export async function findProgressMany(
  db: Kysely<Database>,
  taskIds: string[],
): Promise<Map<string, ProgressRow>> {
  if (taskIds.length === 0) return new Map()
  const rows = await db.selectFrom('task_progress').selectAll().where('task_id', 'in', taskIds).execute()
  return new Map(rows.map((r) => [r.task_id, r as ProgressRow]))
}
