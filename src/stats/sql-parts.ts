import { type Kysely, type RawBuilder, type SelectQueryNode, sql, TableNode } from 'kysely'
import type { Database } from '../db/database.ts'

// Fragments shared by the stats and analytics repositories.

/**
 * `now() - window` on the database clock (one clock for every process of the cluster). Written inline
 * in each query, never in a CTE: the planner must see the bound to estimate a few rows and pick the
 * index range scan (and nested-loop lookups), where a CTE made it guess a third of the table.
 */
export function since(windowMs: number): RawBuilder<Date> {
  return sql<Date>`now() - make_interval(secs => ${windowMs / 1000})`
}

/**
 * `db` is scoped with withSchema(), but that scope applies to the query builder only, not to raw SQL:
 * resolve the qualified name the way the builder does, so raw queries read the same tables.
 */
export function table(db: Kysely<Database>, name: keyof Database) {
  const from = (db.selectFrom(name).selectAll().compile().query as SelectQueryNode).from?.froms[0]
  const schema = from && TableNode.is(from) ? from.table.schema?.name : undefined
  return sql.table(schema ? `${schema}.${name}` : name)
}

/** A function of tasklane's schema (migration 0003_a's histogram_*), qualified like table(). */
export function fn(db: Kysely<Database>, name: string) {
  const from = (db.selectFrom('task_rollup').selectAll().compile().query as SelectQueryNode).from?.froms[0]
  const schema = from && TableNode.is(from) ? from.table.schema?.name : undefined
  return schema ? sql`${sql.id(schema, name)}` : sql`${sql.id(name)}`
}

/**
 * Join condition "this failed attempt was its task's final failure" (f: task_history, a:
 * task_attempt), bounded in time: the final failure's history row is written with the attempt (same
 * finish time) or, for a lost worker, within seconds by maintenance. The bound lets the planner skip
 * old months of the partitioned history (migration 0003_b) instead of hashing all failed history.
 */
export function finalFailureOf(windowStart: RawBuilder<unknown>) {
  return sql`f.task_id = a.task_id and f.status = 'failed' and f.attempts = a.attempt
    and f.finished_at >= ${windowStart} - interval '1 day'`
}

// Buckets start at multiples of their width from the Unix epoch: hourly buckets start on the hour (UTC).
export const EPOCH = sql`timestamptz 'epoch'`
