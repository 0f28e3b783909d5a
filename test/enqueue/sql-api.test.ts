import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { engineOf } from '../../src/internal.ts'
import { bossWakeChannel } from '../../src/queue/wake-channel.ts'
import type { Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'

// tasklane.add_task / add_tasks (migration 0004): enqueue from plain SQL, in the caller's
// transaction, with the defaults, idempotency and wake-up of addTask.

const mail = defineTask({
  name: 'send-mail',
  queue: 'mail',
  priority: 'HIGH',
  retry: { limit: 5, delay: '2s', backoff: 'exponential', maxDelay: '1m' },
  timeout: '45s',
  deadLetter: 'mail-dead',
  schema: z.object({ to: z.string() }),
  async run(args: { to: string }) {
    return { sent: args.to }
  },
})
const plain = defineTask({
  name: 'plain',
  async run(args: unknown) {
    return { got: args }
  },
})

/** Columns of pg-boss's job row that do not depend on the id or the moment of the insert. */
const JOB_SHAPE = `name, priority, data, state, retry_limit, retry_count, retry_delay, retry_backoff,
  retry_delay_max, expire_seconds, deletion_seconds, singleton_key, singleton_on, group_id, group_tier,
  keep_until - start_after as retention, dead_letter, policy, heartbeat_seconds, blocked, blocking,
  pending_dependencies, trace_context, upsert_by_key, start_after > created_on as deferred,
  round(extract(epoch from start_after - created_on) * 1000) as start_delay_ms`

describe('SQL API: tasklane.add_task', () => {
  let db: TestDatabase
  let tasks: Tasklane
  let client: pg.Client

  const job = async (id: string) =>
    (await db.query(`select ${JOB_SHAPE} from pgboss.job where id = $1`, [id])).rows[0]
  const sqlError = (p: Promise<unknown>) =>
    p.then(
      () => {
        throw new Error('expected the statement to fail')
      },
      (err: pg.DatabaseError) => err,
    )

  beforeAll(async () => {
    db = await createTestDatabase()
    // Polling is pushed past the test's waits (30 s at most; 60 s is the longest poll interval): a
    // task runs only if its commit woke the worker.
    tasks = await startTasklane(db.url, [mail, plain], {
      workers: 1,
      pollInterval: '60s',
      queues: { mail: { concurrency: 1 } },
    })
    client = new pg.Client({ connectionString: db.url })
    await client.connect()
  })
  afterAll(async () => {
    await client?.end()
    await tasks?.stop()
    await db?.drop()
  })

  it("writes the same pg-boss row as addTask: the task's queue, priority, retry, timeout, dead letter", async () => {
    // Workers are paused on these rows by a far start, so both stay as written.
    const fromTs = await tasks.addTask(mail, { to: 'a@example.com' }, { delay: '1h' })
    const { rows } = await client.query(
      `select * from tasklane.add_task('send-mail', '{"to": "a@example.com"}', delay => interval '1 hour')`,
    )
    expect(rows[0]).toMatchObject({ deduplicated: false, status: 'scheduled' })
    const ts = await job(fromTs.taskId)
    const fromSql = await job(rows[0].task_id)
    // No dead_letter for pg-boss: tasklane parks a final failure itself (docs/reliability.md).
    expect(ts).toMatchObject({ name: 'mail', priority: 20, retry_limit: 5, dead_letter: null })
    expect(fromSql).toEqual(ts)
    // And with every option given, against addTask given the same.
    const ts2 = await tasks.addTask(mail, { to: 'b' }, { priority: 'low', delay: 1500 })
    const sql2 = await client.query(
      `select task_id from tasklane.add_task('send-mail', '{"to": "b"}', priority => 'low', delay => interval '1.5 seconds')`,
    )
    expect(await job(sql2.rows[0].task_id)).toEqual(await job(ts2.taskId))
    const at = '2031-01-01T00:00:00.250Z'
    const ts3 = await tasks.addTask(plain, null, { startAfter: at })
    const sql3 = await client.query(`select task_id from tasklane.add_task('plain', start_after => $1)`, [at])
    const [a, b] = [await job(ts3.taskId), await job(sql3.rows[0].task_id)]
    expect(b).toMatchObject({ name: 'default', priority: 10, data: { task: 'plain', args: null } })
    // start_after is absolute; only its distance from each row's own created_on differs.
    expect({ ...b, start_delay_ms: 0, retention: null }).toEqual({ ...a, start_delay_ms: 0, retention: null })
    const starts = await db.query(`select start_after from pgboss.job where id = any($1::uuid[])`, [
      [ts3.taskId, sql3.rows[0].task_id],
    ])
    expect(starts.rows.map((r) => r.start_after.toISOString())).toEqual([at, at])
  })

  it('the task exists iff the transaction commits, and the commit wakes the worker', async () => {
    await db.query('create table signups (email text primary key)')
    await client.query('BEGIN')
    await client.query(`insert into signups values ('gone@example.com')`)
    const rolled = await client.query(`select task_id from tasklane.add_task('send-mail', '{"to": "gone"}')`)
    await client.query('ROLLBACK')
    expect(await job(rolled.rows[0].task_id)).toBeUndefined()
    expect((await db.query(`select count(*)::int as n from signups`)).rows[0].n).toBe(0)

    const wakes: string[] = []
    const off = engineOf(tasks).bus.onWake((queue) => wakes.push(queue))
    try {
      await client.query('BEGIN')
      await client.query(`insert into signups values ('kept@example.com')`)
      const kept = await client.query(`select task_id from tasklane.add_task('send-mail', '{"to": "kept"}')`)
      // Notifications arrive in commit order: a sentinel committed meanwhile arrives first only if
      // the enqueue's wake-up is still held by its open transaction.
      await db.query('select pg_notify($1, $2)', [bossWakeChannel('pgboss'), 'sentinel-sql'])
      await expect.poll(() => wakes.includes('sentinel-sql'), { timeout: 20_000 }).toBe(true)
      expect(wakes).not.toContain('mail')
      await client.query('COMMIT')
      await expect.poll(() => wakes.includes('mail'), { timeout: 20_000 }).toBe(true)
      const done = await tasks.waitFor(kept.rows[0].task_id, { timeout: '30s' })
      expect(done).toMatchObject({ status: 'completed', result: { sent: 'kept' }, queue: 'mail' })
    } finally {
      off()
    }
  })

  it('refuses an unknown task naming it, unless the caller defers the check', async () => {
    const err = await sqlError(client.query(`select tasklane.add_task('no-such-task', '{}')`))
    expect(err.code).toBe('TL404')
    expect(err.message).toContain("unknown task 'no-such-task'")
    expect(err.message).toMatch(/known tasks: plain, send-mail/)
    expect(err.hint).toContain('defer_check => true')

    const { rows } = await client.query(
      `select task_id from tasklane.add_task('later-task', '{"x": 1}', defer_check => true, delay => interval '1 hour')`,
    )
    // defineTask's defaults, as addTask would give a task defined with no options.
    expect(await job(rows[0].task_id)).toMatchObject({
      name: 'default',
      priority: 10,
      retry_limit: 2,
      retry_delay: 1,
      retry_backoff: false,
      expire_seconds: 86_400,
      data: { task: 'later-task', args: { x: 1 } },
    })
    const bad = await sqlError(
      client.query(`select tasklane.add_task('Bad Name', null, defer_check => true)`),
    )
    expect(bad.code).toBe('TL400')
  })

  it("args that fail the task's schema fail the first attempt, not retryable, naming the field", async () => {
    const { rows } = await client.query(`select task_id from tasklane.add_task('send-mail', '{"too": "x"}')`)
    const info = await tasks.waitFor(rows[0].task_id, { timeout: '30s' })
    expect(info.status).toBe('failed')
    expect(info.attempts).toBe(1)
    expect(info.error).toMatchObject({ retryable: false })
    expect(info.error?.message).toMatch(/args\.to/)
  })

  it.each([
    [
      `select tasklane.add_task('plain', null, priority => 'urgent')`,
      'TL400',
      /priority 'urgent' is invalid/,
    ],
    [
      `select tasklane.add_task('plain', null, delay => interval '1s', start_after => now())`,
      'TL400',
      /either delay or start_after/,
    ],
    [`select tasklane.add_task('plain', null, delay => interval '-1s')`, 'TL400', /delay .* is invalid/],
    [
      `select tasklane.add_task('plain', null, delay => interval '0.5 ms')`,
      'TL400',
      /finer than a millisecond/,
    ],
    [
      `select tasklane.add_task('plain', null, start_after => '2031-01-01 00:00:00.0005+00')`,
      'TL400',
      /finer than a millisecond/,
    ],
    [
      `select tasklane.add_task('plain', null, start_after => 'infinity')`,
      'TL400',
      /start_after .* is invalid/,
    ],
    [
      `select tasklane.add_task('plain', null, queue => 'nowhere')`,
      'TL404',
      /queue 'nowhere' does not exist/,
    ],
    [
      `select tasklane.add_task('plain', null, idempotency_key => '')`,
      'TL400',
      /idempotency key must be 1 to 200/,
    ],
    [`select tasklane.add_task(null)`, 'TL400', /task is required/],
  ])('refuses bad input, writing nothing: %s', async (statement, code, message) => {
    const before = (await db.query(`select count(*)::int as n from pgboss.job`)).rows[0].n
    const err = await sqlError(client.query(statement))
    expect(err.code).toBe(code)
    expect(err.message).toMatch(message)
    expect((await db.query(`select count(*)::int as n from pgboss.job`)).rows[0].n).toBe(before)
  })

  it('idempotency keys behave as over HTTP, and SQL and TypeScript deduplicate one key alike', async () => {
    const first = await client.query(
      `select * from tasklane.add_task('plain', '{"n": 1}', idempotency_key => 'sql-k1', delay => interval '10 seconds')`,
    )
    const again = await client.query(
      `select * from tasklane.add_task('plain', '{"n": 1}', idempotency_key => 'sql-k1', delay => interval '10000 ms', priority => 'NORMAL')`,
    )
    expect(first.rows[0].deduplicated).toBe(false)
    expect(again.rows[0]).toMatchObject({ task_id: first.rows[0].task_id, deduplicated: true })
    const conflict = await sqlError(
      client.query(`select tasklane.add_task('plain', '{"n": 2}', idempotency_key => 'sql-k1')`),
    )
    expect(conflict.code).toBe('TL409')
    expect(conflict.message).toContain("idempotency key 'sql-k1' was already used for a different request")

    // A key first used from TypeScript, then from SQL with the same meaning: the same task.
    const ts = await tasks.addTask(plain, { n: 3 }, { idempotencyKey: 'ts-k1', delay: '10s' })
    const fromSql = await client.query(
      `select * from tasklane.add_task('plain', '{"n": 3}', idempotency_key => 'ts-k1', delay => interval '10 seconds')`,
    )
    expect(fromSql.rows[0]).toMatchObject({ task_id: ts.taskId, deduplicated: true })
    // And the other way round.
    const sqlFirst = await client.query(
      `select * from tasklane.add_task('send-mail', '{"to": "k"}', idempotency_key => 'sql-k2', delay => interval '1 hour')`,
    )
    const tsAfter = await tasks.addTask(mail, { to: 'k' }, { idempotencyKey: 'sql-k2', delay: '1h' })
    expect(tsAfter).toMatchObject({ taskId: sqlFirst.rows[0].task_id, deduplicated: true })
    await expect(tasks.addTask(mail, { to: 'other' }, { idempotencyKey: 'sql-k2' })).rejects.toMatchObject({
      code: 'idempotency_conflict',
    })
    const count = await db.query(`select count(*)::int as n from pgboss.job where id = any($1::uuid[])`, [
      [first.rows[0].task_id, ts.taskId, sqlFirst.rows[0].task_id],
    ])
    expect(count.rows[0].n).toBe(3)
  })

  it('add_tasks enqueues many in one call, in order, all or none', async () => {
    const { rows } = await client.query(
      `select * from tasklane.add_tasks('plain', array['{"i": 1}', '{"i": 2}', '{"i": 3}', '{"i": 2}']::jsonb[],
         idempotency_keys => array[null, 'batch-k', null, 'batch-k'], delay => interval '1 hour')`,
    )
    expect(rows).toHaveLength(4)
    expect(rows.map((r) => r.deduplicated)).toEqual([false, false, false, true])
    expect(rows[3].task_id).toBe(rows[1].task_id)
    const stored = await db.query(
      `select data->'args'->>'i' as i from pgboss.job where id = any($1::uuid[]) order by data->'args'->>'i'`,
      [rows.map((r) => r.task_id)],
    )
    expect(stored.rows.map((r) => r.i)).toEqual(['1', '2', '3'])
    // One bad entry (a key reused for a different request) and the whole call writes nothing.
    const before = (await db.query(`select count(*)::int as n from pgboss.job`)).rows[0].n
    const err = await sqlError(
      client.query(
        `select * from tasklane.add_tasks('plain', array['{"i": 4}', '{"i": 5}']::jsonb[], idempotency_keys => array['batch-k2', 'batch-k2'])`,
      ),
    )
    expect(err.code).toBe('TL409')
    expect((await db.query(`select count(*)::int as n from pgboss.job`)).rows[0].n).toBe(before)
    const mismatch = await sqlError(
      client.query(
        `select * from tasklane.add_tasks('plain', array['{}']::jsonb[], idempotency_keys => array['a', 'b'])`,
      ),
    )
    expect(mismatch.message).toMatch(/idempotency_keys has 2 entries for 1 args/)
  })
})
