import { hostname } from 'node:os'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.ts'
import { createDb, type Db } from '../../src/db/create-db.ts'
import { createLogger } from '../../src/logger.ts'
import { createBoss, type PgBoss } from '../../src/queue/boss.ts'
import type { BossJobStore } from '../../src/queue/boss-job-store.ts'
import type { Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { Heartbeat } from '../../src/worker/heartbeat.ts'
import type { LeasedJob } from '../../src/worker/leased-job.ts'
import type { QueueRunner } from '../../src/worker/queue-runner.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { jobStoreFor } from '../support/job-store.ts'
import { startTasklane } from '../support/tasklane.ts'

const beatMe = defineTask({ name: 'beat-me', queue: 'hb', run: () => null })

/**
 * The part of a QueueRunner a heartbeat reads: its claims, its slots, abort(), the confirmation of
 * its claims and the recovery of unstarted claims of dead processes.
 */
function runnerHolding(claims: { id: string; retryCount: number }[]) {
  const aborted: [string, string][] = []
  const confirmed: number[] = []
  const runner = {
    queue: 'hb',
    concurrency: 3,
    busy: claims.length,
    claims: () => claims.map((c) => ({ ...c, heartbeatSeconds: null }) as unknown as LeasedJob),
    abort: (id: string, reason: string) => {
      aborted.push([id, reason])
      return true
    },
    claimsConfirmed: (sentMono: number) => confirmed.push(sentMono),
    recoverUnstarted: async () => {},
  }
  return { runner: runner as unknown as QueueRunner, aborted, confirmed }
}

describe('Heartbeat.runOnce', () => {
  let db: TestDatabase
  let kdb: Db
  let producer: Tasklane
  let boss: PgBoss
  let store: BossJobStore

  beforeAll(async () => {
    db = await createTestDatabase()
    const config = loadConfig({ DATABASE_URL: db.url })
    // Enqueues only: no worker leases, no supervisor sweeps the heartbeats this file sets by hand.
    producer = await startTasklane(db.url, [beatMe], { workers: 0, supervise: false })
    kdb = createDb({ connectionString: db.url, schema: config.schema, max: 2 })
    boss = createBoss({ connectionString: db.url, config, supervise: false, log: createLogger('silent') })
    await boss.start()
    store = jobStoreFor(kdb.kysely, config, { boss })
  })
  afterAll(async () => {
    await boss?.stop({ graceful: false, close: true })
    await producer?.stop()
    await kdb?.close()
    await db?.drop()
  })

  function heartbeat(runner: QueueRunner, workerId = 'hb-worker') {
    return new Heartbeat({
      db: kdb.kysely,
      store,
      workerId,
      runners: () => [runner],
      heartbeatTimeoutMs: 60_000,
      memoryPoolMb: 64,
      log: createLogger('silent'),
      busyMsTotal: () => 1234,
    })
  }

  it('touches the claims it holds, aborts the one cancelled meanwhile, and registers this process', async () => {
    const queued = await producer.addTasks(beatMe, [{}, {}])
    const jobs = await boss.fetch<unknown>('hb', { batchSize: 2, includeMetadata: true })
    expect(jobs.map((j) => j.id).sort()).toEqual(queued.map((q) => q.taskId).sort())
    const [kept, cancelled] = jobs.map((j) => ({ id: j.id, retryCount: j.retryCount }))
    await boss.cancel('hb', cancelled!.id)
    await db.query(`update pgboss.job set heartbeat_on = now() - interval '1 hour' where name = 'hb'`)
    // A process that went silent past the timeout, and one that did not.
    await db.query(`insert into tasklane.worker_process (id, host, pid, queues, concurrency, heartbeat_at) values
      ('silent', 'h', 1, '{}', 1, now() - interval '1 hour'), ('alive', 'h', 2, '{}', 1, now())`)

    const { runner, aborted, confirmed } = runnerHolding([kept!, cancelled!])
    await heartbeat(runner).runOnce()

    expect(aborted).toEqual([[cancelled!.id, 'lost']])
    // The claims it still holds were confirmed as of the beat (buffered ones may start: queue-runner).
    expect(confirmed).toHaveLength(1)
    const { rows: touched } = await db.query(
      `select id, heartbeat_on > now() - interval '1 minute' as fresh from pgboss.job where name = 'hb'`,
    )
    expect(Object.fromEntries(touched.map((r) => [r.id, r.fresh]))).toEqual({
      [kept!.id]: true,
      [cancelled!.id]: false,
    })
    const { rows } = await db.query(
      `select id, host, pid, queues, concurrency, busy, busy_ms_total::int, memory_pool_mb from tasklane.worker_process order by id`,
    )
    expect(rows).toEqual([
      {
        id: 'alive',
        host: 'h',
        pid: 2,
        queues: {},
        concurrency: 1,
        busy: 0,
        busy_ms_total: 0,
        memory_pool_mb: 0,
      },
      {
        id: 'hb-worker',
        host: hostname(),
        pid: process.pid,
        queues: { hb: 3 },
        concurrency: 3,
        busy: 2,
        busy_ms_total: 1234,
        memory_pool_mb: 64,
      },
    ])
  })

  it('stop() removes this process’s row, whether or not it was started', async () => {
    const { runner } = runnerHolding([])
    await heartbeat(runner, 'hb-short').runOnce()
    const ids = async () =>
      (await db.query(`select id from tasklane.worker_process order by id`)).rows.map((r) => r.id)
    expect(await ids()).toContain('hb-short')
    await heartbeat(runner, 'hb-short').stop()
    expect(await ids()).not.toContain('hb-short')
  })
})
