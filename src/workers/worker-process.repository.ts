import { type Kysely, sql } from 'kysely'
import type { Database } from '../db/database.ts'

export interface WorkerBeat {
  id: string
  host: string
  pid: number
  queues: Record<string, number>
  concurrency: number
  busy: number
  rssMb: number
  heapMb: number
  cpuPercent: number
  busyMsTotal: number
  memoryPoolMb: number
}

/** Registers or refreshes a worker process's row (its heartbeat). */
export async function beat(db: Kysely<Database>, w: WorkerBeat): Promise<void> {
  const values = {
    id: w.id,
    host: w.host,
    pid: w.pid,
    queues: JSON.stringify(w.queues),
    concurrency: w.concurrency,
    busy: w.busy,
    rss_mb: w.rssMb,
    heap_mb: w.heapMb,
    cpu_percent: w.cpuPercent,
    busy_ms_total: Math.round(w.busyMsTotal),
    memory_pool_mb: w.memoryPoolMb,
    heartbeat_at: sql<Date>`now()` as unknown as Date,
  }
  await db
    .insertInto('worker_process')
    .values(values)
    .onConflict((oc) => oc.column('id').doUpdateSet({ ...values, id: undefined as never }))
    .execute()
}

export async function removeWorker(db: Kysely<Database>, id: string): Promise<void> {
  await db.deleteFrom('worker_process').where('id', '=', id).execute()
}

/** Drops processes that stopped heartbeating (killed, or partitioned away). */
export async function removeSilentWorkers(db: Kysely<Database>, silentForMs: number): Promise<number> {
  const result = await db
    .deleteFrom('worker_process')
    .where('heartbeat_at', '<', sql<Date>`now() - make_interval(secs => ${silentForMs / 1000})`)
    .executeTakeFirst()
  return Number(result.numDeletedRows ?? 0)
}

export interface LiveWorkerTotals {
  processes: number
  totalWorkers: number
  busyWorkers: number
  rssMb: number
  heapMb: number
  cpuPercent: number
  memoryPoolMb: number
  oldestStartedAt: Date | null
}

/** Sums over live worker processes: those that heartbeated within `liveWithinMs`. */
export async function liveWorkerTotals(
  db: Kysely<Database>,
  liveWithinMs: number,
): Promise<LiveWorkerTotals> {
  const row = await db
    .selectFrom('worker_process')
    .select([
      sql<string>`count(*)`.as('processes'),
      sql<string>`coalesce(sum(concurrency), 0)`.as('total'),
      sql<string>`coalesce(sum(busy), 0)`.as('busy'),
      sql<number>`coalesce(sum(rss_mb), 0)`.as('rss'),
      sql<number>`coalesce(sum(heap_mb), 0)`.as('heap'),
      sql<number>`coalesce(sum(cpu_percent), 0)`.as('cpu'),
      sql<string>`coalesce(sum(memory_pool_mb), 0)`.as('pool'),
      sql<Date | null>`min(started_at)`.as('oldest'),
    ])
    .where('heartbeat_at', '>=', sql<Date>`now() - make_interval(secs => ${liveWithinMs / 1000})`)
    .executeTakeFirstOrThrow()
  return {
    processes: Number(row.processes),
    totalWorkers: Number(row.total),
    busyWorkers: Number(row.busy),
    rssMb: Number(row.rss),
    heapMb: Number(row.heap),
    cpuPercent: Number(row.cpu),
    memoryPoolMb: Number(row.pool),
    oldestStartedAt: row.oldest,
  }
}

export async function listLiveWorkers(db: Kysely<Database>, liveWithinMs: number) {
  return db
    .selectFrom('worker_process')
    .selectAll()
    .where('heartbeat_at', '>=', sql<Date>`now() - make_interval(secs => ${liveWithinMs / 1000})`)
    .orderBy('started_at')
    .execute()
}

/** Worker slots serving `queue` across live processes. */
export async function liveSlotsForQueue(
  db: Kysely<Database>,
  queue: string,
  liveWithinMs: number,
): Promise<number> {
  const row = await db
    .selectFrom('worker_process')
    .select(sql<string>`coalesce(sum((queues->>${queue})::int), 0)`.as('slots'))
    .where('heartbeat_at', '>=', sql<Date>`now() - make_interval(secs => ${liveWithinMs / 1000})`)
    .executeTakeFirstOrThrow()
  return Number(row.slots)
}
