import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.ts'
import { createDb, type Db } from '../../src/db/create-db.ts'
import type { BusMessage, StatusEvent } from '../../src/events/event-types.ts'
import { eventsChannel } from '../../src/events/events-channel.ts'
import { decodePayload } from '../../src/events/notify.repository.ts'
import { tasklaneRoutes } from '../../src/http/routes.ts'
import { createLogger } from '../../src/logger.ts'
import { createBoss, type PgBoss } from '../../src/queue/boss.ts'
import { handBack } from '../../src/queue/job.repository.ts'
import type { Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { TaskPriority } from '../../src/tasks/priority.ts'
import { Maintenance } from '../../src/worker/maintenance.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { jobStoreFor } from '../support/job-store.ts'
import { startTasklane } from '../support/tasklane.ts'

// Issue 19, kind 5: a failure recorded as something else, or not at all.
const emptyMessage = defineTask({
  name: 'empty-message',
  retry: { limit: 0 },
  run() {
    throw new Error()
  },
})
class QuotaExceeded extends Error {}
const subclassed = defineTask({
  name: 'subclassed',
  retry: { limit: 0 },
  run() {
    throw new QuotaExceeded('over quota')
  },
})
const hugeResult = defineTask({
  name: 'huge-result',
  retry: { limit: 3, delay: 0 },
  // 300 MiB of one string: more than a jsonb value can hold (2^28 − 1 bytes).
  run: () => ({ s: 'x'.repeat(300 * 1024 * 1024) }),
})
const refusedResult = defineTask({
  name: 'refused-result',
  retry: { limit: 3, delay: 0 },
  run: (args: { poison: boolean }) => (args.poison ? { poison: true } : { fine: true }),
})
class Poison extends Error {
  override name = 'Poison'
}
const refusedError = defineTask({
  name: 'refused-error',
  retry: { limit: 3, delay: 0 },
  run() {
    throw new Poison('cannot be recorded as is')
  },
})
const badStep = defineTask({
  name: 'bad-step',
  retry: { limit: 3, delay: 0 },
  async run(_args, ctx) {
    // The task swallows the error: the attempt still fails, since its progress cannot be stored.
    await ctx.progress(10, 'nul \u0000 inside').catch(() => {})
    await new Promise((r) => setTimeout(r, 50))
    return 'finished anyway'
  },
})

describe('failures are recorded as they happened', () => {
  let db: TestDatabase
  let tasks: Tasklane

  beforeAll(async () => {
    db = await createTestDatabase()
    // Real refusals from the database: triggers that raise, as a constraint or a size limit would.
    await db.query(`
      create function public.refuse_poison() returns trigger language plpgsql as $$
      begin
        if new.result ? 'poison' then raise exception 'result refused by policy'; end if;
        return new;
      end $$;
      create trigger refuse_poison before insert on tasklane.task_history
        for each row execute function public.refuse_poison();
      create function public.refuse_poison_error() returns trigger language plpgsql as $$
      begin
        if new.error->>'type' = 'Poison' then raise exception 'error record refused by policy'; end if;
        return new;
      end $$;
      create trigger refuse_poison_error before insert on tasklane.task_attempt
        for each row execute function public.refuse_poison_error();`)
    tasks = await startTasklane(
      db.url,
      [emptyMessage, subclassed, hugeResult, refusedResult, refusedError, badStep],
      { workers: 2 },
    )
  })
  afterAll(async () => {
    await tasks?.stop()
    await db?.drop()
  })

  it('throw new Error() shows an error with its type, in TaskInfo and GET /tasks/:id', async () => {
    const { taskId } = await tasks.addTask(emptyMessage, {})
    const info = await tasks.waitFor(taskId)
    expect(info.status).toBe('failed')
    expect(info.error).toMatchObject({ type: 'Error', message: '', retryable: true })
    const res = await tasklaneRoutes(tasks).request(`/tasks/${taskId}`)
    expect(res.status).toBe(200)
    expect(((await res.json()) as { error: unknown }).error).toMatchObject({
      type: 'Error',
      message: '',
      retryable: true,
    })
  })

  it('a subclass of Error is recorded by its class name', async () => {
    const { taskId } = await tasks.addTask(subclassed, {})
    const info = await tasks.waitFor(taskId)
    expect(info.error).toMatchObject({ type: 'QuotaExceeded', message: 'over quota' })
  })

  it('a 300 MiB result fails its attempt at once, non-retryably, with the reason', async () => {
    const { taskId } = await tasks.addTask(hugeResult, {})
    const info = await tasks.waitFor(taskId, { timeout: '60s' })
    expect(info.status).toBe('failed')
    expect(info.attempts).toBe(1)
    expect(info.startedAt).not.toBeNull()
    expect(info.error).toMatchObject({ type: 'OutcomeNotStored', retryable: false })
    expect(info.error!.message).toMatch(/larger than PostgreSQL can store/)
  }, 90_000)

  it('a result the database refuses fails that task only, with the database reason', async () => {
    const [bad, good] = await tasks.addTasks(refusedResult, [{ poison: true }, { poison: false }])
    const [badInfo, goodInfo] = await Promise.all([tasks.waitFor(bad!.taskId), tasks.waitFor(good!.taskId)])
    expect(goodInfo).toMatchObject({ status: 'completed', result: { fine: true } })
    expect(badInfo).toMatchObject({ status: 'failed', attempts: 1 })
    expect(badInfo.error).toMatchObject({ type: 'OutcomeNotStored', retryable: false })
    expect(badInfo.error!.message).toMatch(/result could not be stored: result refused by policy/)
  })

  it('an error record the database refuses is replaced by one naming why, and the task stops', async () => {
    const { taskId } = await tasks.addTask(refusedError, {})
    const info = await tasks.waitFor(taskId)
    expect(info).toMatchObject({ status: 'failed', attempts: 1 })
    expect(info.error).toMatchObject({ type: 'OutcomeNotStored', retryable: false })
    expect(info.error!.message).toMatch(
      /error could not be stored: error record refused by policy \(it was Poison: cannot be recorded as is\)/,
    )
  })

  it('a progress step that cannot be stored fails the attempt, even when the task catches it', async () => {
    const { taskId } = await tasks.addTask(badStep, {})
    const info = await tasks.waitFor(taskId)
    expect(info).toMatchObject({ status: 'failed', attempts: 1 })
    expect(info.error).toMatchObject({ type: 'OutcomeNotStored', retryable: false })
    expect(info.error!.message).toMatch(/ctx.progress step contains a NUL character/)
  })
})

// Issue 12, item 4: completed, failed, cancelled and lost are recorded by one recorder
// (src/outcome/outcome-recorder.ts), so their history row, attempt rows and status event agree.
const done = defineTask({ name: 'rec-done', retry: { limit: 2 }, run: () => ({ done: true }) })
const broken = defineTask({
  name: 'rec-broken',
  retry: { limit: 1, delay: 0 },
  run() {
    throw new QuotaExceeded('still over quota')
  },
})
// No worker serves this queue: the test plays the worker with pg-boss's own calls.
const parked = defineTask({
  name: 'rec-parked',
  queue: 'rec-parked',
  retry: { limit: 1, delay: 0 },
  run: () => null,
})
const shaped = defineTask({
  name: 'rec-shaped',
  queue: 'rec-parked',
  priority: TaskPriority.LOW,
  timeout: '2s',
  retry: { limit: 2, delay: '250ms', backoff: 'exponential', maxDelay: '1500ms' },
  run: () => null,
})

describe('one recorder for every outcome', () => {
  let db: TestDatabase
  let producer: Tasklane
  let worker: Tasklane
  let kdb: Db
  let boss: PgBoss
  let maintenance: Maintenance
  let listener: pg.Client
  const events: BusMessage[] = []
  const arrived = new Set<() => void>()
  const config = () => loadConfig({ DATABASE_URL: db.url })

  beforeAll(async () => {
    db = await createTestDatabase()
    const c = config()
    const log = createLogger('silent')
    listener = new pg.Client({ connectionString: db.url })
    await listener.connect()
    listener.on('notification', (n) => {
      events.push(...decodePayload(n.payload!))
      for (const wake of arrived) wake()
    })
    await listener.query(`listen ${eventsChannel(c.schema)}`)
    producer = await startTasklane(db.url, [done, broken, parked, shaped], { workers: 0, supervise: false })
    worker = await startTasklane(db.url, [done, broken], { workers: 2, supervise: false })
    kdb = createDb({ connectionString: db.url, schema: c.schema, max: 2 })
    boss = createBoss({ connectionString: db.url, config: c, supervise: false, log })
    await boss.start()
    maintenance = new Maintenance({
      db: kdb.kysely,
      store: jobStoreFor(kdb.kysely, c, { boss }),
      queues: () => ['rec-parked'],
      config: c,
      log,
    })
  })
  afterAll(async () => {
    await worker?.stop()
    await producer?.stop()
    await boss?.stop({ graceful: false, close: true })
    await kdb?.close()
    await listener?.end()
    await db?.drop()
  })

  /** The status event announcing `status` for the task, once it has arrived (no polling). */
  function statusEvent(taskId: string, status: string): Promise<StatusEvent> {
    const find = () =>
      events.find((e): e is StatusEvent => e.type === 'status' && e.taskId === taskId && e.status === status)
    return new Promise((resolve) => {
      const check = () => {
        const e = find()
        if (!e) return
        arrived.delete(check)
        resolve(e)
      }
      arrived.add(check)
      check()
    })
  }

  /** Claims the parked queue's next task, as a worker's lease would. */
  async function lease(): Promise<{ id: string; retryCount: number }> {
    const [job] = await boss.fetch<unknown>('rec-parked', { includeMetadata: true })
    if (!job) throw new Error('nothing to lease')
    return { id: job.id, retryCount: job.retryCount }
  }

  /** Fails a claim the way pg-boss's heartbeat sweep does (its failJobs, its output). */
  async function loseHeartbeat(claim: { id: string; retryCount: number }): Promise<void> {
    await boss.fail('rec-parked', [claim], { value: { message: 'job heartbeat timeout' } })
  }

  async function recordOf(taskId: string) {
    const history = await db.query('select * from tasklane.task_history where task_id = $1', [taskId])
    const attempts = await db.query(
      'select * from tasklane.task_attempt where task_id = $1 order by attempt',
      [taskId],
    )
    expect(history.rows).toHaveLength(1)
    return { history: history.rows[0], attempts: attempts.rows }
  }

  it('records completed, failed, cancelled and lost alike: history row, attempt rows, status event', async () => {
    const c = config()
    // completed
    const completed = (await producer.addTask(done, {})).taskId
    await producer.waitFor(completed)
    // failed: two attempts, both recorded
    const failed = (await producer.addTask(broken, {})).taskId
    await producer.waitFor(failed)
    // cancelled after one failed attempt and a hand-back (a graceful stop during its second)
    const cancelled = (await producer.addTask(parked, {})).taskId
    await boss.fail('rec-parked', [await lease()], {
      error: { type: 'Error', message: 'x', retryable: true },
    })
    await handBack(kdb.kysely, c.bossSchema, 'rec-parked', [await lease()])
    const handedBack = await producer.getTask(cancelled)
    expect(handedBack).toMatchObject({ status: 'queued', attempts: 1, maxAttempts: 2 })
    await producer.cancel(cancelled)
    // lost: both attempts' workers stopped heartbeating; the reconciler records it
    const lost = (await producer.addTask(parked, {})).taskId
    await loseHeartbeat(await lease())
    await loseHeartbeat(await lease())
    expect(await maintenance.reconcileOnce()).toBe(1)

    const expected = {
      [completed]: { status: 'completed', attempts: 1, rows: [] as string[], worker: true },
      [failed]: { status: 'failed', attempts: 2, rows: ['failed', 'failed'], worker: true },
      [cancelled]: { status: 'cancelled', attempts: 1, rows: [], worker: false },
      [lost]: { status: 'failed', attempts: 2, rows: ['lost', 'lost'], worker: false },
    }
    const shapes = new Set<string>()
    for (const [taskId, want] of Object.entries(expected)) {
      const { history: h, attempts } = await recordOf(taskId)
      expect(h).toMatchObject({
        status: want.status,
        attempts: want.attempts,
        max_attempts: expect.any(Number),
      })
      expect(h.worker_id !== null).toBe(want.worker)
      expect(attempts.map((a) => a.outcome)).toEqual(want.rows)
      // The last attempt row is the outcome's own: same attempt, instants, error and worker as history.
      const last = attempts.at(-1)
      if (last) {
        expect(last.attempt).toBe(h.attempts)
        expect(last.started_at).toEqual(h.started_at)
        expect(last.finished_at).toEqual(h.finished_at)
        expect(last.error).toEqual(h.error)
        expect(last.worker_id).toBe(h.worker_id)
      }
      // The status event carries the instant history records, whichever process recorded it.
      const event = await statusEvent(taskId, want.status)
      expect(new Date(event.at).getTime()).toBe(h.finished_at.getTime())
      shapes.add(Object.keys(event).sort().join())
      // getAttempts() serves the same rows, camelCased.
      expect(await producer.getAttempts(taskId)).toEqual(
        attempts.map((a) => ({
          attempt: a.attempt,
          outcome: a.outcome,
          error: a.error,
          startedAt: a.started_at?.toISOString() ?? null,
          finishedAt: a.finished_at.toISOString(),
          durationMs: a.duration_ms,
          workerId: a.worker_id,
        })),
      )
    }
    expect([...shapes]).toEqual(['at,queue,status,task,taskId,type'])
    expect((await recordOf(lost)).history.error).toMatchObject({ type: 'WorkerLost' })
    expect((await recordOf(cancelled)).history.started_at).toBeNull()
  })

  it('a retry of a task pg-boss no longer holds enqueues the job addTask would', async () => {
    const c = config()
    const { taskId } = await producer.addTask(shaped, { n: 1 }, { priority: TaskPriority.HIGH })
    const columns = await db.query<{ column_name: string }>(
      `select column_name from information_schema.columns
       where table_schema = $1 and table_name = 'job' and data_type not like 'timestamp%'`,
      [c.bossSchema],
    )
    const select = `select ${columns.rows.map((r) => `"${r.column_name}"`).join(', ')} from ${c.bossSchema}.job where id = $1`
    const enqueued = (await db.query(select, [taskId])).rows[0]
    expect(enqueued).toMatchObject({
      priority: expect.any(Number),
      data: { task: 'rec-shaped', args: { n: 1 } },
    })
    await producer.cancel(taskId)
    // pg-boss's retention removes the finished job; history keeps the task.
    await db.query(`delete from ${c.bossSchema}.job where id = $1`, [taskId])
    const info = await producer.retry(taskId)
    expect(info).toMatchObject({ status: 'queued', priority: 'HIGH', attempts: 0, maxAttempts: 3 })
    expect((await db.query(select, [taskId])).rows[0]).toEqual(enqueued)
  })
})
