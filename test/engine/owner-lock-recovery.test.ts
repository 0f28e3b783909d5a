import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EventBus } from '../../src/events/event-bus.ts'
import { engineOf } from '../../src/internal.ts'
import { createLogger } from '../../src/logger.ts'
import { OWNER_GONE_MESSAGE } from '../../src/queue/boss-failure.ts'
import { tryOwnerLock } from '../../src/queue/owner-lock.repository.ts'
import { ownerLockKey } from '../../src/queue/owner-lock-key.ts'
import type { Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { LIVENESS_GRACE_MS, Liveness } from '../../src/worker/liveness.ts'
import type { QueueRunner } from '../../src/worker/queue-runner.ts'
import { waitUntil } from '../faults/support/wait.ts'
import { type Child, spawnTs } from '../support/child-process.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'
import { fixtureTasks, gate, hold } from './fixtures/fixture-tasks.ts'

// Crash recovery on disconnect (worker/liveness.ts): a worker holds a session advisory lock for its
// life and stamps its claims with the lock's key; when its connection closes, a live worker fails its
// claims as a lapsed heartbeat would, at once. Every process here has a 10-minute heartbeat timeout:
// a task that comes back within the test can only have come back through the lock.
const WORKER = 'test/engine/fixtures/worker-process.ts'
const HEARTBEAT = '10m'

describe('a killed worker, recovered through its owner lock', () => {
  let db: TestDatabase
  let producer: Tasklane
  let bus: EventBus
  const children: Child[] = []
  const env = (more: Record<string, string> = {}) => ({
    TASKLANE_HEARTBEAT_TIMEOUT: HEARTBEAT,
    TASKLANE_POLL_INTERVAL: '200ms',
    ...more,
    DATABASE_URL: db.url,
  })

  beforeAll(async () => {
    db = await createTestDatabase()
    await db.query('create table executions (task_id uuid not null, attempt int not null, pid int not null)')
    // Enqueues and supervises (pg-boss's monitor runs, with the 10-minute timeout), runs no workers.
    producer = await startTasklane(db.url, fixtureTasks, {
      workers: 0,
      env: { TASKLANE_HEARTBEAT_TIMEOUT: HEARTBEAT },
    })
    bus = new EventBus({
      connectionString: db.url,
      eventsChannel: 'owner_lock_test',
      wakeChannel: 'owner_lock_test_wake',
      log: createLogger('silent'),
    })
    await bus.start()
  })
  afterAll(async () => {
    for (const c of children) c.proc.kill('SIGKILL')
    await bus?.stop()
    await producer?.stop()
    await db?.drop()
  })

  const spawn = async (more: Record<string, string> = {}) => {
    const child = spawnTs(WORKER, env(more))
    children.push(child)
    await child.waitForLine(/^ready$/)
    return child
  }
  const bossSchema = () => engineOf(producer).settings.bossSchema
  const namespace = () => ownerLockKey(bossSchema(), 'any').namespace
  const claim = async (id: string) =>
    (
      await db.query(
        `select state, retry_count, started_on is not null as started, output->'leasedBy' as owner
         from pgboss.job where id = $1`,
        [id],
      )
    ).rows[0]

  /**
   * A liveness pass of this test process, on the default queue, with no grace (unless given): any
   * owner it finds unheld on one pass, it fails on the next. No settle period: it judges as a worker
   * connected all along does. The same code the workers run on a timer.
   */
  const observer = (graceMs = 0) =>
    new Liveness({
      store: engineOf(producer).store,
      session: bus,
      lock: ownerLockKey(bossSchema(), 'observer'),
      runners: () => [
        { queue: 'default', recoverUnstarted: async () => {}, wake() {} } as unknown as QueueRunner,
      ],
      log: createLogger('silent'),
      graceMs,
      settleMs: 0,
    })
  const idle = { held: true, settling: false, unheld: 0, failed: 0 }

  /** A process's owner lock, `label`, held on a connection of its own: end() it to "kill" the owner. */
  const lockedOwner = async (label: string) => {
    const lock = ownerLockKey(bossSchema(), label)
    const client = new pg.Client({ connectionString: db.url })
    await client.connect()
    expect(await tryOwnerLock(client, lock)).toBe(true)
    return { lock, end: () => client.end() }
  }

  it('does not judge a claim by the stamp of an earlier claim that was handed back (its owner gone)', async () => {
    const store = engineOf(producer).store
    const [task] = await producer.addTasks(hold, [{ ms: 10 }])
    const id = task!.taskId
    // A process stamps its claim, hands it back at shutdown, and exits.
    const { lock: gone, end: endOwner } = await lockedOwner('gone')
    const [stamped] = await store.lease('default', 1, 1, gone.key)
    expect(stamped?.id).toBe(id)
    expect((await claim(id)).owner).toBe(gone.key)
    expect(await store.handBack('default', [{ id, retryCount: stamped!.retryCount }])).toBe(1)
    await endOwner()
    // A live process leases it without a stamp (its lock not held yet, a pooler, pg-boss's fetch).
    const [again] = await store.lease('default', 1, 1, null)
    expect(again?.id).toBe(id)
    const watch = observer()
    expect(await watch.runOnce()).toEqual(idle)
    expect(await watch.runOnce()).toEqual(idle)
    expect(await claim(id)).toMatchObject({ state: 'active', retry_count: 0, owner: null })
    await producer.cancel(id)
  })

  it('drops the stamp of a claim that is cancelled, so a resumed task is not judged by it', async () => {
    const store = engineOf(producer).store
    const [task] = await producer.addTasks(hold, [{ ms: 10 }])
    const id = task!.taskId
    const { lock: gone, end: endOwner } = await lockedOwner('gone-too')
    expect((await store.lease('default', 1, 1, gone.key))[0]?.id).toBe(id)
    await producer.cancel(id)
    await endOwner()
    await producer.retry(id)
    expect(await claim(id)).toMatchObject({ state: 'created', owner: null })
    await producer.cancel(id)
  })

  it("retries a dead owner's started task after its retry delay to the millisecond, not pg-boss's whole seconds", async () => {
    const store = engineOf(producer).store
    /**
     * One dead owner's started claim, failed by the store: the retry's start less the database's
     * clock just before and just after the failing transaction. pg-boss alone would give 1 s.
     */
    const failOneDeadClaim = async (label: string, retry: { delay: string; backoff?: 'exponential' }) => {
      const { taskId: id } = await producer.addTask(hold, { ms: 10 }, { retry: { limit: 3, ...retry } })
      const { lock: gone, end: endOwner } = await lockedOwner(label)
      const [leased] = await store.lease('default', 1, 1, gone.key)
      expect(leased).toMatchObject({ id, started: true })
      await endOwner()
      const clock = async () => (await db.query('select clock_timestamp() as t')).rows[0].t as Date
      const before = await clock()
      expect(await store.failDeadOwnerClaims('default', [gone.key], namespace())).toEqual([id])
      const after = await clock()
      const { rows } = await db.query('select state, start_after from pgboss.job where id = $1', [id])
      await producer.cancel(id)
      return {
        state: rows[0].state,
        fromBefore: rows[0].start_after.getTime() - before.getTime(),
        fromAfter: rows[0].start_after.getTime() - after.getTime(),
        window: after.getTime() - before.getTime(),
      }
    }
    // The retry's start is "delay after the failing transaction's clock", which lies between before
    // and after. A window wider than 500 ms could not tell 200 ms from pg-boss's 1 s apart, so on a
    // machine too loaded for that, the case is tried again (a few times) rather than asserted loosely.
    const narrow = async (label: string, retry: { delay: string; backoff?: 'exponential' }) => {
      for (let i = 0; i < 5; i++) {
        const r = await failOneDeadClaim(`${label}-${i}`, retry)
        if (r.window < 500) return r
      }
      throw new Error('five failing transactions each took over 500 ms: too loaded to tell 200 ms from 1 s')
    }
    const fixed = await narrow('ms-fixed', { delay: '200ms' })
    expect(fixed.state).toBe('retry')
    expect(fixed.fromBefore).toBeGreaterThanOrEqual(200)
    expect(fixed.fromAfter).toBeLessThanOrEqual(200)
    // Exponential, first retry: 150 ms × 2^0 × [1, 2), rounded: [150, 300] ms (pg-boss: [1, 2) s).
    const grown = await narrow('ms-exponential', { delay: '150ms', backoff: 'exponential' })
    expect(grown.state).toBe('retry')
    expect(grown.fromBefore).toBeGreaterThanOrEqual(150)
    expect(grown.fromAfter).toBeLessThanOrEqual(300)
  })

  /** The backend pid holding an owner lock, or null. */
  const lockHolder = async (key: number): Promise<number | null> =>
    (
      await db.query(
        `select pid from pg_locks where locktype = 'advisory' and granted and objsubid = 2
           and classid = $1::int4::oid and objid = $2::int4::oid`,
        [namespace(), key],
      )
    ).rows[0]?.pid ?? null

  it('takes the owner lock with every LISTEN connection, before it counts as up, and then settles before judging', async () => {
    const lock = ownerLockKey(bossSchema(), 'reconnecting')
    let liveness: Liveness | null = null
    const own = new EventBus({
      connectionString: db.url,
      eventsChannel: 'owner_lock_test_own',
      wakeChannel: 'owner_lock_test_own_wake',
      log: createLogger('silent'),
      onSession: async (client) => {
        await liveness?.adopt(client)
      },
    })
    liveness = new Liveness({
      store: engineOf(producer).store,
      session: own,
      lock,
      runners: () => [],
      log: createLogger('silent'),
    })
    try {
      await own.start()
      // No pass has run: the lock came with the connection. A first lock settles nothing.
      expect(liveness.leaseOwner()).toBe(lock.key)
      expect(await liveness.runOnce()).toEqual(idle)
      const first = await lockHolder(lock.key)
      expect(first).not.toBeNull()
      // Cut: the bus reconnects and the new connection holds the lock, still without a pass.
      await db.query('select pg_terminate_backend($1)', [first])
      const second = await waitUntil(
        'the lock held on a new LISTEN connection',
        () => lockHolder(lock.key),
        (pid) => pid !== null && pid !== first,
        { timeoutMs: 60_000 },
      )
      await waitUntil('the bus up again', async () => own.connected, Boolean, { timeoutMs: 60_000 })
      expect(liveness.leaseOwner()).toBe(lock.key)
      expect(await lockHolder(lock.key)).toBe(second)
      // Just locked again: others may be reconnecting too, so it judges no one for the settle period
      // (reconnectWithinMs + grace; far longer than this test takes to get here).
      expect(own.reconnectWithinMs + LIVENESS_GRACE_MS).toBe(9_500)
      expect(await liveness.runOnce()).toEqual({ held: true, settling: true, unheld: 0, failed: 0 })
    } finally {
      await own.stop()
    }
    expect(await lockHolder(lock.key)).toBeNull()
  })

  it('does not judge a live worker whose LISTEN connection was cut: it holds its lock again within the grace', async () => {
    await db.query('truncate executions')
    const worker = await spawn({ TASKLANE_WORKERS: '1' })
    const [task] = await producer.addTasks(gate, [{}])
    const id = task!.taskId
    await worker.waitForLine(new RegExp(`^running ${id}$`))
    const { owner } = await claim(id)
    expect(typeof owner).toBe('number')
    const cut = await lockHolder(owner)
    expect(cut).not.toBeNull()
    // Judged with the workers' real grace, pass after pass, from the moment its connection is cut
    // until it holds its lock again, and once more after.
    const watch = observer(LIVENESS_GRACE_MS)
    expect(await watch.runOnce()).toEqual(idle)
    await db.query('select pg_terminate_backend($1)', [cut])
    const cutAt = performance.now()
    const passes: { unheld: number; failed: number }[] = []
    await waitUntil(
      'the worker holding its lock on a new connection',
      async () => {
        passes.push(await watch.runOnce())
        return lockHolder(owner)
      },
      (pid) => pid !== null && pid !== cut,
      { timeoutMs: 60_000, everyMs: 50 },
    )
    const relockedMs = Math.round(performance.now() - cutAt)
    passes.push(await watch.runOnce())
    expect(passes.map((p) => p.failed)).toEqual(passes.map(() => 0))
    expect(await claim(id)).toMatchObject({ state: 'active', retry_count: 0, owner })
    // It finishes its attempt, which was never taken from it.
    await db.query(`select pg_notify('gate', $1)`, [id])
    expect(await producer.waitFor(id, { timeout: '120s' })).toMatchObject({
      status: 'completed',
      attempts: 1,
    })
    const runs = await db.query('select attempt, pid from executions where task_id = $1', [id])
    expect(runs.rows).toEqual([{ attempt: 1, pid: worker.proc.pid }])
    console.log(
      `[owner-lock] LISTEN connection cut: lock held again within ${relockedMs} ms; ${passes.length} passes with a ${LIVENESS_GRACE_MS} ms grace (${passes.filter((p) => p.unheld > 0).length} saw its lock free), none failed it`,
    )
    worker.proc.kill('SIGTERM')
    expect((await worker.exited).code).toBe(0)
  }, 600_000)

  it('leaves a live worker whose handler is busy alone, and runs its task again elsewhere once it is killed', async () => {
    const first = await spawn({ TASKLANE_WORKERS: '1' })
    const [task] = await producer.addTasks(hold, [{ ms: 600_000 }])
    const id = task!.taskId
    await first.waitForLine(new RegExp(`^running ${id}$`))
    const stamped = await claim(id)
    expect(stamped).toMatchObject({ state: 'active', retry_count: 0, started: true })
    expect(typeof stamped.owner).toBe('number')

    // Alive, its handler blocked on a 10-minute wait: its lock is held, so no pass judges it dead.
    const second = await spawn({ TASKLANE_WORKERS: '1' })
    const watch = observer()
    expect(await watch.runOnce()).toEqual(idle)
    expect(await watch.runOnce()).toEqual(idle)
    expect(await engineOf(producer).store.unheldOwners(['default'], namespace())).toEqual([])
    expect(await claim(id)).toEqual(stamped)

    const killedAt = Date.now()
    first.proc.kill('SIGKILL')
    await first.exited
    // The second worker's own liveness loop fails the claim; it leases and completes the task.
    const info = await producer.waitFor(id, { timeout: '120s' })
    const recoveredMs = Date.now() - killedAt
    expect(info).toMatchObject({ status: 'completed', attempts: 2 })
    const runs = await db.query(
      `select array_agg(pid order by attempt) as pids from executions where task_id = $1`,
      [id],
    )
    expect(runs.rows[0].pids).toEqual([first.proc.pid, second.proc.pid])
    // The attempt that died is recorded as a heartbeat lapse's would be (lost, WorkerLost), saying
    // which detector found it: the owner lock, not a heartbeat (10 minutes here).
    const lost = await db.query(
      `select attempt, outcome, error->>'type' as type, error->>'message' as message
       from tasklane.task_attempt where task_id = $1`,
      [id],
    )
    expect(lost.rows).toEqual([
      { attempt: 1, outcome: 'lost', type: 'WorkerLost', message: OWNER_GONE_MESSAGE },
    ])
    const history = await db.query(
      `select count(*)::int as n from tasklane.task_history where task_id = $1`,
      [id],
    )
    expect(history.rows[0].n).toBe(1)
    console.log(
      `[owner-lock] started task: kill → completed elsewhere in ${recoveredMs} ms (heartbeat timeout ${HEARTBEAT})`,
    )
    second.proc.kill('SIGTERM')
    expect((await second.exited).code).toBe(0)
  }, 600_000)

  it('puts a buffered claim of a killed worker back unspent, even on its last attempt', async () => {
    await db.query('truncate executions')
    const first = await spawn({ TASKLANE_WORKERS: '1', TEST_PREFETCH: '4' })
    const [running, ...buffered] = await producer.addTasks(hold, [{ ms: 600_000 }, { ms: 10 }, { ms: 10 }], {
      retry: { limit: 0 },
    })
    await first.waitForLine(new RegExp(`^running ${running!.taskId}$`))
    for (const b of buffered) expect(await claim(b.taskId)).toMatchObject({ state: 'active', started: false })
    const second = await spawn({ TASKLANE_WORKERS: '1' })
    const killedAt = Date.now()
    first.proc.kill('SIGKILL')
    await first.exited
    const infos = await Promise.all(buffered.map((b) => producer.waitFor(b.taskId, { timeout: '120s' })))
    const recoveredMs = Date.now() - killedAt
    expect(infos.map((i) => [i.status, i.attempts])).toEqual([
      ['completed', 1],
      ['completed', 1],
    ])
    const runs = await db.query(
      `select array_agg(attempt) as attempts, array_agg(pid) as pids from executions where task_id = any($1) group by task_id`,
      [buffered.map((b) => b.taskId)],
    )
    expect(runs.rows.map((r) => [r.attempts, r.pids])).toEqual([
      [[1], [second.proc.pid]],
      [[1], [second.proc.pid]],
    ])
    // The one that was running spent its only attempt: failed, worker lost, recorded once.
    const killed = await producer.waitFor(running!.taskId, { timeout: '120s' })
    expect(killed).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: { type: 'WorkerLost', message: OWNER_GONE_MESSAGE },
    })
    await waitUntil(
      'the lost attempt in history',
      async () =>
        (
          await db.query(`select count(*)::int as n from tasklane.task_history where task_id = $1`, [
            running!.taskId,
          ])
        ).rows[0].n,
      (n) => n === 1,
      { timeoutMs: 60_000 },
    )
    console.log(`[owner-lock] buffered claims: kill → completed elsewhere in ${recoveredMs} ms`)
    second.proc.kill('SIGTERM')
    expect((await second.exited).code).toBe(0)
  }, 600_000)

  it('reads the owner locks of another app on the same pg-boss schema in one namespace: its live claims are not judged dead', async () => {
    // Another app (its own tasklane schema) leasing from the same pg-boss tables and queue.
    const park = defineTask({
      name: 'park',
      run: (_args: Record<string, never>, ctx) =>
        new Promise<void>((_resolve, reject) =>
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)),
        ),
    })
    const other = await startTasklane(db.url, [park], {
      migrate: true,
      env: { TASKLANE_SCHEMA: 'other_app', TASKLANE_BOSS_SCHEMA: bossSchema(), TASKLANE_WORKERS: '1' },
    })
    try {
      const { taskId } = await other.addTask(park, {})
      const stamped = await waitUntil(
        'the other app running its task',
        () => claim(taskId),
        (c) => c?.state === 'active' && c.started && typeof c.owner === 'number',
        { timeoutMs: 120_000 },
      )
      const watch = observer()
      expect(await watch.runOnce()).toEqual(idle)
      expect(await watch.runOnce()).toEqual(idle)
      expect(await claim(taskId)).toEqual(stamped)
      await other.cancel(taskId)
    } finally {
      await other.stop()
    }
  }, 600_000)
})
