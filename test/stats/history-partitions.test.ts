import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDb, type Db } from '../../src/db/create-db.ts'
import { migrateDown, migrateToLatest } from '../../src/db/migrate.ts'
import { findHistory, insertHistory, recordLostAttempts } from '../../src/history/history.repository.ts'
import { ensureHistoryPartitions } from '../../src/history/partition.repository.ts'
import { createLogger } from '../../src/logger.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'

const ID = '00000000-0000-4000-8000-0000000000'

describe('migration 0003_b: history partitioned by finish month', () => {
  let db: TestDatabase
  let kdb: Db
  const opts = () => ({
    connectionString: db.url,
    schema: 'tasklane',
    bossSchema: 'pgboss',
    dbBackend: 'postgres' as const,
    log: createLogger('silent'),
  })

  beforeAll(async () => {
    db = await createTestDatabase()
    kdb = createDb({ connectionString: db.url, schema: 'tasklane', max: 2 })
  })
  afterAll(async () => {
    await kdb?.close()
    await db?.drop()
  })

  it('migrates a populated install in place: every row kept, in monthly partitions', async () => {
    const reverted: string[] = []
    while (!reverted.includes('0003_b_history_partitions')) reverted.push(...(await migrateDown(opts())))
    const kind = async () =>
      (await db.query(`select relkind from pg_class where oid = 'tasklane.task_history'::regclass`)).rows[0]
        .relkind
    expect(await kind()).toBe('r')
    // History of this month, and of 40 and 75 days ago, with failed attempts.
    await db.query(`
      insert into tasklane.task_history (task_id, task, queue, priority, status, attempts, max_attempts,
        created_at, start_after, started_at, finished_at, wait_ms, duration_ms)
      select ('${ID}' || lpad(i::text, 2, '0'))::uuid, 'mail', 'default', 10,
        case when i % 3 = 0 then 'failed' else 'completed' end, 1 + (i % 3 = 0)::int, 3,
        f - interval '2 seconds', f - interval '2 seconds', f - interval '1 second', f, 1000, 1000
      from generate_series(1, 30) i, lateral (select now() - make_interval(days => (i % 3) * 37 + 1) as f) t`)
    await db.query(`
      insert into tasklane.task_attempt (task_id, attempt, task, queue, outcome, started_at, finished_at, duration_ms)
      select task_id, 1, task, queue, 'failed', started_at - interval '5 seconds', started_at - interval '4 seconds', 1000
      from tasklane.task_history where status = 'failed'`)
    const snapshot = async () =>
      // Columns later migrations add (0008's dead_letter, null for these rows) are not part of the row kept.
      (
        await db.query(`select (select json_agg(to_jsonb(h) - 'dead_letter' order by task_id) from tasklane.task_history h) as h,
                               (select json_agg(a order by task_id) from tasklane.task_attempt a) as a`)
      ).rows[0]
    const before = await snapshot()

    expect(await migrateToLatest(opts())).toEqual(reverted.toReversed())
    expect(await kind()).toBe('p')
    expect(await snapshot()).toEqual(before)
    // Every row sits in its month's partition, none in the default ones.
    const { rows } = await db.query(`
      select tableoid::regclass::text as part, count(*)::int as n from tasklane.task_history group by 1 order by 1`)
    expect(
      rows
        .map((r) => r.part)
        .every((p: string) => /^tasklane\.task_history_y\d{4}m\d\d_(completed|other)$/.test(p)),
    ).toBe(true)
    expect(rows.reduce((n, r) => n + r.n, 0)).toBe(30)
    // Indexes later migrations added to the old table are there again.
    const { rows: idx } = await db.query(
      `select indexname from pg_indexes where schemaname = 'tasklane' and tablename = 'task_history' order by 1`,
    )
    expect(idx.map((r) => r.indexname)).toEqual(
      expect.arrayContaining(['task_history_pkey', 'task_history_finished_at', 'task_history_finished_day']),
    )
  })

  it('finds a task by id through each partition’s primary key', async () => {
    expect((await findHistory(kdb.kysely, `${ID}03`))?.status).toBe('failed')
    const client = new pg.Client({ connectionString: db.url })
    await client.connect()
    await client.query('set enable_seqscan = off')
    const { rows } = await client.query(
      `explain select * from tasklane.task_history where task_id = '${ID}03'`,
    )
    await client.end()
    const plan = rows.map((r) => r['QUERY PLAN']).join('\n')
    // Every partition is read through an index on task_id, never scanned. Which index (the primary key
    // or another that leads with task_id) the planner picks per partition follows its statistics,
    // which autovacuum updates whenever a loaded machine gets round to it: not asserted.
    const scans = plan.split('\n').filter((l) => /Scan .*on task_history_y/.test(l))
    expect(scans.length).toBeGreaterThan(0)
    for (const scan of scans)
      expect(scan).toMatch(/(Index (Only )?Scan using|Bitmap (Index|Heap) Scan on) task_history_y/)
    expect(plan).toMatch(/Index Cond: \(task_id = /)
    expect(plan).not.toMatch(/Seq Scan on task_history_y/)
  })

  it('a replayed settle records the outcome once; lost attempts never duplicate a recorded one', async () => {
    const row = {
      taskId: `${ID}99`,
      task: 'mail',
      queue: 'default',
      priority: 10,
      status: 'completed' as const,
      args: {},
      attempts: 2,
      maxAttempts: 3,
      createdAt: new Date(Date.now() - 3000),
      startAfter: new Date(Date.now() - 3000),
      startedAt: new Date(Date.now() - 2000),
      finishedAt: new Date(),
    }
    await insertHistory(kdb.kysely, [row])
    await insertHistory(kdb.kysely, [row])
    await db.query(`insert into tasklane.task_attempt (task_id, attempt, task, queue, outcome, finished_at)
      values ('${ID}99', 1, 'mail', 'default', 'failed', now() - interval '1 minute')`)
    await recordLostAttempts(kdb.kysely, [{ taskId: `${ID}99`, task: 'mail', queue: 'default', before: 3 }])
    await recordLostAttempts(kdb.kysely, [{ taskId: `${ID}99`, task: 'mail', queue: 'default', before: 3 }])
    const { rows } = await db.query(`
      select (select count(*)::int from tasklane.task_history where task_id = '${ID}99') as history,
        (select json_agg(outcome order by attempt) from tasklane.task_attempt where task_id = '${ID}99') as attempts`)
    expect(rows[0]).toEqual({ history: 1, attempts: ['failed', 'lost'] })
  })

  it('maintenance makes the coming months ahead, once', async () => {
    await db.query(`drop table tasklane.task_history_y${nextMonth(2)}`)
    await db.query(`drop table tasklane.task_attempt_y${nextMonth(2)}`)
    expect(await ensureHistoryPartitions(kdb.kysely, 2)).toBe(2)
    expect(await ensureHistoryPartitions(kdb.kysely, 2)).toBe(0)
  })
})

/** 'YYYYmMM' of the month `ahead` months after this one (UTC). */
function nextMonth(ahead: number): string {
  const now = new Date()
  const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + ahead, 1))
  return `${d.getUTCFullYear()}m${String(d.getUTCMonth() + 1).padStart(2, '0')}`
}
