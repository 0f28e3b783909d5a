import { type Kysely, type RawBuilder, sql } from 'kysely'
import type { Database } from '../db/database.ts'
import type { JobReads, PriorityCounts, QueueCounts } from './job-store.ts'

/**
 * Statistics' reads of pg-boss's job table, bound to its schema: counts in tasklane's terms, and the
 * fragments that stats and rollup statements embed, so that no SQL outside queue/ names pg-boss's
 * table, columns or states. The statements are those the stats and rollup repositories ran before
 * (same indexes, same plans): moved, not rewritten.
 */
export class BossJobReads implements JobReads {
  readonly #job: RawBuilder<unknown>

  constructor(bossSchema: string) {
    this.#job = sql.table(`${bossSchema}.job`)
  }

  /**
   * Live task counts over the known queues, grouped by priority. Reads pg-boss's job_i14 partial index
   * (name, state, blocked, start_after WHERE live), so the cost follows the live backlog, not history.
   * A claimed job counts as running only once its handler started (started_on set).
   */
  async countByPriority(db: Kysely<Database>, queues: string[]): Promise<PriorityCounts> {
    const { rows } = await sql<{ priority: number; ready: string; deferred: string; active: string }>`
      select priority,
        count(*) filter (where (state < 'active' and start_after <= now())
          or (state = 'active' and started_on is null)) as ready,
        count(*) filter (where state < 'active' and start_after > now()) as deferred,
        count(*) filter (where state = 'active' and started_on is not null) as active
      from ${this.#job}
      where name = any(${queues}::text[]) and state <= 'active'
      group by priority`.execute(db)
    const ready = new Map<number, number>()
    let deferred = 0
    let active = 0
    for (const r of rows) {
      ready.set(r.priority, Number(r.ready))
      deferred += Number(r.deferred)
      active += Number(r.active)
    }
    return { ready, deferred, active }
  }

  /** Ready (due), deferred and active counts per queue and priority, over the partial fetch index. */
  async countByQueue(db: Kysely<Database>, queues: string[]): Promise<QueueCounts[]> {
    const { rows } = await sql<{
      queue: string
      priority: number
      ready: string
      deferred: string
      active: string
    }>`
      select name as queue, priority,
        count(*) filter (where state < 'active' and start_after <= now()) as ready,
        count(*) filter (where state < 'active' and start_after > now()) as deferred,
        count(*) filter (where state = 'active') as active
      from ${this.#job}
      where name = any(${queues}::text[]) and state <= 'active'
      group by name, priority`.execute(db)
    return rows.map((r) => ({
      queue: r.queue,
      priority: r.priority,
      ready: Number(r.ready),
      deferred: Number(r.deferred),
      active: Number(r.active),
    }))
  }

  /** `select … as busy_s`: seconds the running handlers of `queues` spent since `from`. */
  runningBusySeconds(queues: string[], from: RawBuilder<unknown>): RawBuilder<unknown> {
    return sql`select coalesce(sum(extract(epoch from now() - greatest(started_on, ${from}))), 0) as busy_s
      from ${this.#job}
      where name = any(${queues}::text[]) and state = 'active' and started_on is not null`
  }

  /**
   * `(id, queue, dead_letter)` over pg-boss's rows; a simple subquery, which the planner pulls up
   * into the join that uses it (the plan of joining the table itself).
   */
  legacyDeadLetters(): RawBuilder<unknown> {
    return sql`(select id, name as queue, dead_letter from ${this.#job})`
  }
}
