import { sql } from 'kysely'
import type { LegacySchedule, SqlConnection } from './job-store.ts'

/** Schedules made by earlier releases with pg-boss's cron (its `schedule` table), to be moved into tasklane's. */
export async function listBossSchedules(db: SqlConnection, bossSchema: string): Promise<LegacySchedule[]> {
  const { rows } = await sql<Omit<LegacySchedule, 'task' | 'args'> & { data: unknown }>`
    select name as queue, key, cron, timezone, data from ${sql.table(`${bossSchema}.schedule`)}`.execute(db)
  // tasklane made its cron jobs' data `{ task, args }`; anything else names no task.
  return rows.map(({ data, ...row }) => {
    const d = data as { task?: unknown; args?: unknown } | null
    return { ...row, task: typeof d?.task === 'string' ? d.task : null, args: d?.args ?? null }
  })
}

/** Deletes one of pg-boss's cron schedules (once moved into tasklane's). */
export async function deleteBossSchedule(db: SqlConnection, bossSchema: string, queue: string, key: string) {
  await sql`delete from ${sql.table(`${bossSchema}.schedule`)} where name = ${queue} and key = ${key}`.execute(
    db,
  )
}
