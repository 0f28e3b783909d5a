import type { Kysely } from 'kysely'
import type { Database } from '../db/database.ts'
import { canonicalRequest } from '../idempotency/canonical-request.ts'
import type { Logger } from '../logger.ts'
import type { SqlEnqueueTarget } from '../queue/job-store.ts'
import { defineTask, type TaskDefinition } from '../tasks/define-task.ts'
import type { TaskRegistry } from '../tasks/registry.ts'
import { type PublishedDefinition, publishSqlApi, type SqlApiSetting } from './sql-api.repository.ts'

export interface SqlApiContext {
  /** The job store's side (JobStore.sqlEnqueue). */
  store: SqlEnqueueTarget
  /** The publishing process (its worker id), for operators reading task_definition. */
  publishedBy: string
}

/**
 * Publishes this process's task definitions for the SQL API (at start, once its queues exist). A
 * schema without migration 0004 (a deployment that migrates separately and has not yet) is not a
 * reason to refuse to start: the SQL API does not exist there, so it is logged and skipped.
 */
export async function publishForSqlApi(
  db: Kysely<Database>,
  registry: TaskRegistry,
  { log, ...ctx }: SqlApiContext & { log: Logger },
): Promise<void> {
  const { setting, definitions } = sqlApiRows(registry, ctx)
  try {
    await publishSqlApi(db, setting, definitions)
  } catch (err) {
    if ((err as { code?: string }).code !== '42P01') throw err // undefined_table
    log.warn(
      { err: (err as Error).message },
      'the SQL API (add_task) is not installed in this schema: run `tasklane migrate` to apply migration 0004',
    )
  }
}

/** The settings row and one definition row per registered task, sorted by name (stable lock order). */
export function sqlApiRows(
  registry: TaskRegistry,
  ctx: SqlApiContext,
): { setting: SqlApiSetting; definitions: PublishedDefinition[] } {
  // defineTask's defaults: what a task nobody registered yet would get from TypeScript.
  const unknown = defineTask({ name: 'unregistered', run: () => null })
  const setting: SqlApiSetting = {
    ...ctx.store.setting,
    unknownTask: {
      queue: unknown.queue,
      priority: unknown.priority,
      retry: canonicalRetry(unknown),
      jobOptions: ctx.store.jobOptions(unknown),
    },
  }
  const definitions = registry
    .all()
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((task) => ({
      name: task.name,
      queue: task.queue,
      priority: task.priority,
      retry: JSON.stringify(canonicalRetry(task)),
      timeout_ms: task.timeoutMs,
      dead_letter: task.deadLetter,
      has_schema: task.schema !== undefined,
      job_options: JSON.stringify(ctx.store.jobOptions(task)),
      published_by: ctx.publishedBy,
    }))
  return { setting, definitions }
}

function canonicalRetry(task: TaskDefinition<any, any>) {
  return canonicalRequest({
    task: task.name,
    queue: task.queue,
    args: null,
    priority: task.priority,
    startAfterMs: null,
    delayMs: null,
    retry: task.retry,
  }).retry
}
