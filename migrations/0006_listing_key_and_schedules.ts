import { type Kysely, sql } from 'kysely'

/**
 * Two things, both for issue 19:
 * - Listing key of history: tasks are listed newest created first, keyset-paginated on
 *   (created_at, task_id) across live tasks and history (src/inspect/task-reader.ts). These indexes
 *   let each page read only the rows it returns, with and without a status filter.
 * - tasklane's own schedules (src/schedule/): one row per (task, key) with the next instant it fires,
 *   computed by tasklane (the DST rule in docs/operations.md) and claimed with FOR UPDATE SKIP LOCKED,
 *   so each slot runs once across replicas and fires with the task definition deployed at that time.
 */
export async function up(db: Kysely<any>, schema: string): Promise<void> {
  const s = db.schema.withSchema(schema)
  await s
    .createIndex('task_history_created_at')
    .on('task_history')
    .expression(sql`created_at desc, task_id desc`)
    .execute()
  await s
    .createIndex('task_history_status_created_at')
    .on('task_history')
    .expression(sql`status, created_at desc, task_id desc`)
    .execute()

  await s
    .createTable('schedule')
    .addColumn('task', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('cron', 'text', (c) => c.notNull())
    .addColumn('tz', 'text', (c) => c.notNull())
    .addColumn('args', 'jsonb')
    // The next slot to fire (an instant). A pass fires rows whose next_run_at has come.
    .addColumn('next_run_at', 'timestamptz', (c) => c.notNull())
    // The slot fired last, and the task it enqueued.
    .addColumn('last_run_at', 'timestamptz')
    .addColumn('last_task_id', 'uuid')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('schedule_pkey', ['task', 'key'])
    .execute()
  await s.createIndex('schedule_next_run_at').on('schedule').column('next_run_at').execute()
}

export async function down(db: Kysely<any>, schema: string): Promise<void> {
  await sql`drop table if exists ${sql.id(schema, 'schedule')}`.execute(db)
  await sql`drop index if exists ${sql.id(schema, 'task_history_status_created_at')}`.execute(db)
  await sql`drop index if exists ${sql.id(schema, 'task_history_created_at')}`.execute(db)
}
