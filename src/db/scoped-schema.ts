import type { Kysely } from 'kysely'
import { type SelectQueryNode, TableNode } from 'kysely'

/**
 * The schema a Kysely instance (or transaction) was scoped to with `withSchema()`, or undefined when
 * it was not. Raw SQL does not see that scope, so code that derives a name from the schema (the
 * NOTIFY channel) reads it back the way the query builder resolves a table.
 * @example scopedSchema(db.withSchema('billing')) // 'billing'
 */
export function scopedSchema(db: Kysely<any>): string | undefined {
  const from = (db.selectFrom('probe').selectAll().compile().query as SelectQueryNode).from?.froms[0]
  return from && TableNode.is(from) ? from.table.schema?.name : undefined
}
