import type { Kysely, KyselyPlugin } from 'kysely'
import { type SelectQueryNode, TableNode } from 'kysely'

/**
 * Answers by the executor's plugin list: `withSchema()` scopes a Kysely instance by adding a plugin,
 * and a transaction keeps its parent's plugin instances (in a copy of the list), so equal lists scope
 * alike. Keyed by the first plugin; compiling the probe every time cost more than the NOTIFY it named
 * (one per settle and per published batch).
 */
const known = new WeakMap<KyselyPlugin, { plugins: readonly KyselyPlugin[]; schema: string | undefined }>()

/**
 * The schema a Kysely instance (or transaction) was scoped to with `withSchema()`, or undefined when
 * it was not. Raw SQL does not see that scope, so code that derives a name from the schema (the
 * NOTIFY channel) reads it back the way the query builder resolves a table.
 * @example scopedSchema(db.withSchema('billing')) // 'billing'
 */
export function scopedSchema(db: Kysely<any>): string | undefined {
  const plugins = db.getExecutor().plugins
  const first = plugins[0]
  if (!first) return undefined
  const hit = known.get(first)
  if (hit && hit.plugins.length === plugins.length && hit.plugins.every((p, i) => p === plugins[i])) {
    return hit.schema
  }
  const from = (db.selectFrom('probe').selectAll().compile().query as SelectQueryNode).from?.froms[0]
  const schema = from && TableNode.is(from) ? from.table.schema?.name : undefined
  known.set(first, { plugins: [...plugins], schema })
  return schema
}
