import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EventBus } from '../../src/events/event-bus.ts'
import { engineOf } from '../../src/internal.ts'
import { createLogger } from '../../src/logger.ts'
import { OWNER_GONE_MESSAGE } from '../../src/queue/boss-failure.ts'
import type { Tasklane } from '../../src/tasklane.ts'
import { Liveness, ownerLockKey } from '../../src/worker/liveness.ts'
import type { QueueRunner } from '../../src/worker/queue-runner.ts'
import { waitUntil } from '../faults/support/wait.ts'
import { type Child, spawnTs } from '../support/child-process.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'
import { fixtureTasks, hold } from './fixtures/fixture-tasks.ts'

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
  const namespace = () => ownerLockKey(engineOf(producer).settings.schema, 'any').namespace
  const claim = async (id: string) =>
    (
      await db.query(
        `select state, retry_count, started_on is not null as started, output->'leasedBy' as owner
         from pgboss.job where id = $1`,
        [id],
      )
    ).rows[0]

  /**
   * A liveness pass of this test process, on the default queue, with no grace: any owner it finds
   * unheld on one pass, it fails on the next. The same code the workers run on a timer.
   */
  const observer = () =>
    new Liveness({
      store: engineOf(producer).store,
      session: bus,
      lock: ownerLockKey(engineOf(producer).settings.schema, 'observer'),
      runners: () => [
        { queue: 'default', recoverUnstarted: async () => {}, wake() {} } as unknown as QueueRunner,
      ],
      log: createLogger('silent'),
      graceMs: 0,
    })

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
    expect(await watch.runOnce()).toEqual({ held: true, unheld: 0, failed: 0 })
    expect(await watch.runOnce()).toEqual({ held: true, unheld: 0, failed: 0 })
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
})
