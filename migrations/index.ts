import type { Kysely } from 'kysely'
import * as m0001 from './0001_initial.ts'
import * as m0002 from './0002_reporting_views.ts'
import * as m0003a from './0003_a_task_rollup.ts'
import * as m0003b from './0003_b_history_partitions.ts'
import * as m0004 from './0004_sql_enqueue.ts'
import * as m0006 from './0006_listing_key_and_schedules.ts'
import * as m0007 from './0007_idempotency_request_hash.ts'
import * as m0008 from './0008_dead_lettered_history.ts'

export interface SchemaMigration {
  up(db: Kysely<any>, schema: string): Promise<void>
  down(db: Kysely<any>, schema: string): Promise<void>
}

/** Every migration, by name, in order. Landed migrations are never edited: add a new file. */
export const migrations: Readonly<Record<string, SchemaMigration>> = Object.freeze({
  '0001_initial': m0001,
  '0002_reporting_views': m0002,
  '0003_a_task_rollup': m0003a,
  '0003_b_history_partitions': m0003b,
  '0004_sql_enqueue': m0004,
  '0006_listing_key_and_schedules': m0006,
  '0007_idempotency_request_hash': m0007,
  '0008_dead_lettered_history': m0008,
})
