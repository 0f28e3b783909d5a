import { type Kysely, sql } from 'kysely'

/**
 * tasklane's own tables: history of finished tasks and of failed attempts, latest progress,
 * idempotency keys, and the registry of live worker processes. pg-boss owns the queue itself.
 */
export async function up(db: Kysely<any>, schema: string): Promise<void> {
  await sql`CREATE SCHEMA IF NOT EXISTS ${sql.id(schema)}`.execute(db)
  const s = db.schema.withSchema(schema)

  // One row per finished task (completed, failed, cancelled), written in the same transaction as
  // pg-boss's completion, so an outcome is recorded exactly once and outlives pg-boss retention.
  await s
    .createTable('task_history')
    .addColumn('task_id', 'uuid', (c) => c.primaryKey())
    .addColumn('task', 'text', (c) => c.notNull())
    .addColumn('queue', 'text', (c) => c.notNull())
    .addColumn('priority', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) =>
      c.notNull().check(sql`status in ('completed', 'failed', 'cancelled')`),
    )
    .addColumn('args', 'jsonb')
    .addColumn('result', 'jsonb')
    .addColumn('error', 'jsonb')
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('max_attempts', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('start_after', 'timestamptz', (c) => c.notNull())
    .addColumn('started_at', 'timestamptz')
    .addColumn('finished_at', 'timestamptz', (c) => c.notNull())
    .addColumn('wait_ms', 'integer')
    .addColumn('duration_ms', 'integer')
    .addColumn('worker_id', 'text')
    .addColumn('cpu_ms', 'real')
    .addColumn('peak_memory_mb', 'real')
    .execute()
  // Stats and analytics read a bounded window of recent rows: every such query starts from finished_at.
  await s.createIndex('task_history_finished_at').on('task_history').column('finished_at').execute()
  await s
    .createIndex('task_history_task_finished_at')
    .on('task_history')
    .columns(['task', 'finished_at'])
    .execute()
  await s
    .createIndex('task_history_status_finished_at')
    .on('task_history')
    .columns(['status', 'finished_at'])
    .execute()

  // Failed attempts that were retried (and attempts lost with their worker).
  await s
    .createTable('task_attempt')
    .addColumn('task_id', 'uuid', (c) => c.notNull())
    .addColumn('attempt', 'integer', (c) => c.notNull())
    .addColumn('task', 'text', (c) => c.notNull())
    .addColumn('queue', 'text', (c) => c.notNull())
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('error', 'jsonb')
    .addColumn('started_at', 'timestamptz')
    .addColumn('finished_at', 'timestamptz', (c) => c.notNull())
    .addColumn('duration_ms', 'integer')
    .addColumn('worker_id', 'text')
    .addPrimaryKeyConstraint('task_attempt_pk', ['task_id', 'attempt'])
    .execute()
  await s.createIndex('task_attempt_finished_at').on('task_attempt').column('finished_at').execute()

  await s
    .createTable('task_progress')
    .addColumn('task_id', 'uuid', (c) => c.primaryKey())
    .addColumn('percent', 'real', (c) => c.notNull())
    .addColumn('step', 'text')
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()

  // pg-boss's singletonKey does not deduplicate creation, so the "same key, same taskId" contract
  // keeps its own unique record, written in the enqueue transaction.
  await s
    .createTable('idempotency_key')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('task_id', 'uuid', (c) => c.notNull())
    .addColumn('task', 'text', (c) => c.notNull())
    .addColumn('request_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await s.createIndex('idempotency_key_created_at').on('idempotency_key').column('created_at').execute()

  await s
    .createTable('worker_process')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('host', 'text', (c) => c.notNull())
    .addColumn('pid', 'integer', (c) => c.notNull())
    .addColumn('queues', 'jsonb', (c) => c.notNull())
    .addColumn('concurrency', 'integer', (c) => c.notNull())
    .addColumn('busy', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('rss_mb', 'real', (c) => c.notNull().defaultTo(0))
    .addColumn('heap_mb', 'real', (c) => c.notNull().defaultTo(0))
    .addColumn('cpu_percent', 'real', (c) => c.notNull().defaultTo(0))
    .addColumn('busy_ms_total', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('memory_pool_mb', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('started_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('heartbeat_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
}

export async function down(db: Kysely<any>, schema: string): Promise<void> {
  for (const table of [
    'worker_process',
    'idempotency_key',
    'task_progress',
    'task_attempt',
    'task_history',
  ]) {
    await db.schema.withSchema(schema).dropTable(table).ifExists().execute()
  }
}
