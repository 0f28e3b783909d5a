import { type Kysely, sql } from 'kysely'

/**
 * `<schema>.idempotency_request_hash(request jsonb) returns text`: the hash idempotency keys compare,
 * over the canonical form of an enqueue request (src/idempotency/canonical-request.ts, documented in
 * docs/idempotency.md). The TypeScript enqueue path computes the same expression (REQUEST_HASH_SQL)
 * in its claim statement — written out here, not imported, so this landed migration never
 * changes; SQL callers (an SQL enqueue function, a trigger) call this, so both paths deduplicate
 * one key alike. jsonb's text form is canonical for key order and spelling, which is what makes a
 * hash of it compare meaning rather than how a caller happened to write the request.
 *
 * Keys recorded before this migration carry a hash of a different form: reusing one of them with
 * the same request now answers 409 until the key is pruned (idempotency keys are kept for the
 * retention period only).
 */
export async function up(db: Kysely<any>, schema: string): Promise<void> {
  await sql`
    create function ${sql.id(schema, 'idempotency_request_hash')}(request jsonb) returns text
    language sql immutable strict parallel safe
    as $$ select encode(sha256(convert_to(request::text, 'UTF8')), 'hex') $$`.execute(db)
  await sql`comment on function ${sql.id(schema, 'idempotency_request_hash')}(jsonb) is ${sql.lit(
    'Hash of the canonical form of an enqueue request, compared by idempotency keys (docs/idempotency.md).',
  )}`.execute(db)
}

export async function down(db: Kysely<any>, schema: string): Promise<void> {
  await sql`drop function if exists ${sql.id(schema, 'idempotency_request_hash')}(jsonb)`.execute(db)
}
