import { type Kysely, type Selectable, sql } from 'kysely'
import type { Database, ScheduleTable } from '../db/database.ts'

/** A row of tasklane.schedule (migration 0006) as read. */
export type ScheduleRow = Selectable<ScheduleTable>

export interface ScheduleUpsert {
  task: string
  key: string
  cron: string
  tz: string
  args: unknown
  nextRunAt: Date
}

/** The database's clock (every recorded instant comes from it). */
export async function databaseNow(db: Kysely<any>): Promise<Date> {
  const { rows } = await sql<{ now: Date }>`select now() as now`.execute(db)
  return new Date(rows[0]!.now)
}

/**
 * Creates or replaces a schedule. Calling it again with the same cron and tz (every replica does, at
 * boot) keeps the pending slot, so a slot that is due but not yet fired is not skipped; args change
 * for the slots to come.
 */
export async function upsertSchedule(db: Kysely<Database>, s: ScheduleUpsert): Promise<void> {
  await db
    .insertInto('schedule')
    .values({
      task: s.task,
      key: s.key,
      cron: s.cron,
      tz: s.tz,
      args: JSON.stringify(s.args ?? null),
      next_run_at: s.nextRunAt,
    })
    .onConflict((oc) =>
      oc.columns(['task', 'key']).doUpdateSet({
        args: (eb) => eb.ref('excluded.args'),
        next_run_at: sql`case when schedule.cron = excluded.cron and schedule.tz = excluded.tz
          then schedule.next_run_at else excluded.next_run_at end`,
        cron: (eb) => eb.ref('excluded.cron'),
        tz: (eb) => eb.ref('excluded.tz'),
        updated_at: sql`now()`,
      }),
    )
    .execute()
}

export async function deleteSchedule(db: Kysely<Database>, task: string, key: string): Promise<boolean> {
  const r = await db.deleteFrom('schedule').where('task', '=', task).where('key', '=', key).executeTakeFirst()
  return Number(r.numDeletedRows) > 0
}

export async function listScheduleRows(db: Kysely<Database>): Promise<ScheduleRow[]> {
  return db.selectFrom('schedule').selectAll().orderBy('task').orderBy('key').execute()
}

export async function findSchedule(
  db: Kysely<Database>,
  task: string,
  key: string,
): Promise<ScheduleRow | null> {
  const row = await db
    .selectFrom('schedule')
    .selectAll()
    .where('task', '=', task)
    .where('key', '=', key)
    .executeTakeFirst()
  return row ?? null
}

/**
 * Locks the schedules of `tasks` whose slot has come (at `now`), skipping rows another process holds:
 * the claimer fires the slot and moves next_run_at in the same transaction, so each slot fires once
 * across replicas (index schedule_next_run_at).
 */
export async function claimDueSchedules(
  db: Kysely<Database>,
  tasks: string[],
  now: Date,
  limit: number,
): Promise<ScheduleRow[]> {
  if (tasks.length === 0) return []
  const rows = await db
    .selectFrom('schedule')
    .selectAll()
    .where('next_run_at', '<=', now)
    .where('task', 'in', tasks)
    .orderBy('next_run_at')
    .limit(limit)
    .forUpdate()
    .skipLocked()
    .execute()
  return rows
}

/** Records a fired slot and the next one. */
export async function advanceSchedule(
  db: Kysely<Database>,
  s: { task: string; key: string; firedSlot: Date; taskId: string | null; nextRunAt: Date },
): Promise<void> {
  await db
    .updateTable('schedule')
    .set({ last_run_at: s.firedSlot, last_task_id: s.taskId, next_run_at: s.nextRunAt })
    .where('task', '=', s.task)
    .where('key', '=', s.key)
    .execute()
}
