import { type Kysely, sql } from 'kysely'
import type { Database } from '../db/database.ts'

/**
 * What the SQL API (`<schema>.add_task`, migration 0004) reads about one task: its defaults in
 * tasklane's terms, the retry policy in the canonical form idempotency hashes, and the job store's
 * options for it (JobStore.sqlEnqueue), so a task enqueued from SQL gets the very values addTask writes.
 */
export interface PublishedDefinition {
  name: string
  queue: string
  priority: string
  retry: string
  timeout_ms: number | null
  dead_letter: string | null
  has_schema: boolean
  job_options: string
  published_by: string
}

/** The deployment settings the SQL API reads (setting row 'enqueue'). */
export interface SqlApiSetting {
  /** The job store's part (JobStore.sqlEnqueue.setting): where add_task inserts, and how. */
  [store: string]: unknown
  /** Defaults for a task enqueued with defer_check before any process registers it. */
  unknownTask: { queue: string; priority: string; retry: unknown; jobOptions: unknown }
}

/**
 * Publishes this process's task definitions and the deployment's settings for the SQL API, in one
 * transaction. Upserts only: tasks registered by other processes (a web process and a worker with
 * different task lists) stay published. Rows are written in name order so concurrent starts never
 * deadlock; the last process to start wins for a task they both define.
 */
export async function publishSqlApi(
  db: Kysely<Database>,
  setting: SqlApiSetting,
  definitions: PublishedDefinition[],
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx
      .insertInto('setting')
      .values({ name: 'enqueue', value: JSON.stringify(setting) })
      .onConflict((oc) =>
        oc.column('name').doUpdateSet({ value: (eb) => eb.ref('excluded.value'), updated_at: sql`now()` }),
      )
      .execute()
    if (definitions.length === 0) return
    await trx
      .insertInto('task_definition')
      .values(definitions)
      .onConflict((oc) =>
        oc.column('name').doUpdateSet((eb) => ({
          queue: eb.ref('excluded.queue'),
          priority: eb.ref('excluded.priority'),
          retry: eb.ref('excluded.retry'),
          timeout_ms: eb.ref('excluded.timeout_ms'),
          dead_letter: eb.ref('excluded.dead_letter'),
          has_schema: eb.ref('excluded.has_schema'),
          job_options: eb.ref('excluded.job_options'),
          published_by: eb.ref('excluded.published_by'),
          published_at: sql`now()`,
        })),
      )
      .execute()
  })
}
