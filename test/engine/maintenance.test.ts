import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Config, loadConfig } from '../../src/config.ts'
import { createDb, type Db } from '../../src/db/create-db.ts'
import type { BusMessage } from '../../src/events/event-types.ts'
import { eventsChannel } from '../../src/events/events-channel.ts'
import { decodePayload } from '../../src/events/notify.repository.ts'
import { createLogger } from '../../src/logger.ts'
import type { Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { Maintenance } from '../../src/worker/maintenance.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { jobStoreFor } from '../support/job-store.ts'
import { startTasklane } from '../support/tasklane.ts'

const ID = '00000000-0000-4000-8000-00000000'

const mail = defineTask({ name: 'mail', retry: { limit: 2, delay: 0 }, run: () => null })

/** The retention settings as the environment gives them (TASKLANE_RETENTION_*), then a Maintenance over them. */
function maintenanceFor(kdb: Db, env: Record<string, string> = {}) {
  const config: Config = loadConfig({ DATABASE_URL: 'postgres://unused', ...env })
  return new Maintenance({
    db: kdb.kysely,
    store: jobStoreFor(kdb.kysely, config),
    queues: () => ['default'],
    config,
    log: createLogger('silent'),
    deadLetterOf: (task) => (task === 'mail' ? 'mail-dead' : null),
    // Days end at UTC midnight; no grace, so a pass just after midnight folds yesterday like any other.
    foldGraceMs: 0,
  })
}

describe('maintenance passes, driven through their once-methods', () => {
  let db: TestDatabase
  let kdb: Db
  let tasks: Tasklane

  beforeAll(async () => {
    db = await createTestDatabase()
    kdb = createDb({ connectionString: db.url, schema: 'tasklane', max: 2 })
    // No workers and no supervision: nothing but the passes this file calls touches the tables.
    tasks = await startTasklane(db.url, [mail], { workers: 0, supervise: false })
  })
  afterAll(async () => {
    await tasks?.stop()
    await kdb?.close()
    await db?.drop()
  })

  describe('reconcileOnce', () => {
    it('records a task pg-boss failed for a lapsed heartbeat once: history, lost attempts, a status event', async () => {
      const { taskId } = await tasks.addTask(mail, {})
      // What pg-boss's monitor does to a job whose worker stopped heartbeating on its second attempt.
      await db.query(
        `update pgboss.job set state = 'failed', retry_count = 1, started_on = now() - interval '2 seconds',
           completed_on = now(), output = '{"value":{"message":"job heartbeat timeout"}}'
         where id = $1`,
        [taskId],
      )
      const events = await listen(db.url)
      try {
        const m = maintenanceFor(kdb)
        expect(await m.reconcileOnce()).toBe(1)
        const { rows } = await db.query(
          `select status, attempts, max_attempts, error, dead_letter from tasklane.task_history where task_id = $1`,
          [taskId],
        )
        expect(rows).toEqual([
          {
            status: 'failed',
            attempts: 2,
            max_attempts: 3,
            error: {
              type: 'WorkerLost',
              message: 'worker lost: its process stopped heartbeating while running this task',
              retryable: true,
            },
            dead_letter: 'mail-dead',
          },
        ])
        const attempts = await db.query(
          `select attempt, outcome, error->>'type' as type from tasklane.task_attempt where task_id = $1 order by attempt`,
          [taskId],
        )
        expect(attempts.rows).toEqual([
          { attempt: 1, outcome: 'lost', type: 'WorkerLost' },
          { attempt: 2, outcome: 'lost', type: 'WorkerLost' },
        ])
        const status = await events.next((m) => m.type === 'status' && m.taskId === taskId)
        expect(status).toMatchObject({
          type: 'status',
          taskId,
          task: 'mail',
          queue: 'default',
          status: 'failed',
        })
        expect((await tasks.getTask(taskId))?.status).toBe('failed')
        // Recorded: the next pass finds nothing to do.
        expect(await m.reconcileOnce()).toBe(0)
      } finally {
        await events.close()
      }
    })

    it('keeps the error pg-boss stored when there is one', async () => {
      const { taskId } = await tasks.addTask(mail, {})
      const error = { type: 'TypeError', message: 'boom', retryable: true }
      await db.query(
        `update pgboss.job set state = 'failed', started_on = now() - interval '1 second', completed_on = now(),
           output = $2 where id = $1`,
        [taskId, JSON.stringify({ error })],
      )
      const m = maintenanceFor(kdb)
      expect(await m.reconcileOnce()).toBe(1)
      const { rows } = await db.query(
        `select attempts, error from tasklane.task_history where task_id = $1`,
        [taskId],
      )
      expect(rows).toEqual([{ attempts: 1, error }])
      expect(await m.reconcileOnce()).toBe(0)
    })
  })

  describe('pruneOnce: retention', () => {
    /** Where each of the rows below lives: its partition's name. */
    let home: Record<string, string>

    beforeAll(async () => {
      // History reaching 80 days back, in monthly partitions, none of it folded yet.
      await db.query(`update tasklane.rollup_state set folded_before = current_date - 80`)
      await db.query(`select tasklane.ensure_history_partitions(current_date - 80, current_date)`)
      // Finished 70 days ago: one completed, one failed (with a failed attempt before it); finished
      // today: one completed; finished 400 days ago, before every month: one completed, in the default partition.
      await db.query(
        `
        insert into tasklane.task_history (task_id, task, queue, priority, status, attempts, max_attempts,
          created_at, start_after, started_at, finished_at, wait_ms, duration_ms)
        select ($1 || id)::uuid, 'mail', 'default', 10, status, 1 + (status = 'failed')::int, 3,
          f - interval '2 seconds', f - interval '2 seconds', f - interval '1 second', f, 1000, 1000
        from (values ('0001', 'completed', 70), ('0002', 'failed', 70), ('0003', 'completed', 0),
                     ('0004', 'completed', 400)) v(id, status, days),
          -- "Today" is now itself: an hour back is yesterday in the first hour of a UTC day.
          lateral (select now() - make_interval(days => days)
            - case when days = 0 then interval '0' else interval '1 hour' end as f) t`,
        [ID],
      )
      await db.query(
        `insert into tasklane.task_attempt (task_id, attempt, task, queue, outcome, started_at, finished_at, duration_ms)
         values (($1 || '0002')::uuid, 1, 'mail', 'default', 'failed', now() - interval '70 days 2 hours',
           now() - interval '70 days 2 hours' + interval '1 second', 1000)`,
        [ID],
      )
      const { rows } = await db.query(`
        select task_id::text as id, tableoid::regclass::text as part from tasklane.task_history
        union all select task_id::text || '/attempt', tableoid::regclass::text from tasklane.task_attempt`)
      home = Object.fromEntries(rows.map((r) => [r.id, r.part.replace(/^tasklane\./, '')]))
      // Preconditions the assertions rely on: a month's completed and other leaves, and the default partition.
      expect(home[`${ID}0001`]).toMatch(/^task_history_y\d{4}m\d\d_completed$/)
      expect(home[`${ID}0002`]).toMatch(/^task_history_y\d{4}m\d\d_other$/)
      expect(home[`${ID}0002/attempt`]).toMatch(/^task_attempt_y\d{4}m\d\d$/)
      expect(home[`${ID}0004`]).toBe('task_history_default')
      // Progress and idempotency keys: one old, one recent of each.
      await db.query(
        `insert into tasklane.task_progress (task_id, percent, updated_at) values
        (($1 || '0001')::uuid, 100, now() - interval '70 days'), (($1 || '0003')::uuid, 100, now())`,
        [ID],
      )
      await db.query(
        `insert into tasklane.idempotency_key (key, task_id, task, request_hash, created_at) values
        ('old', ($1 || '0001')::uuid, 'mail', 'h', now() - interval '70 days'),
        ('new', ($1 || '0003')::uuid, 'mail', 'h', now())`,
        [ID],
      )
    })

    const exists = async (table: string) =>
      (await db.query(`select to_regclass($1) is not null as e`, [`tasklane.${table}`])).rows[0].e as boolean
    const ids = async (sql: string) => (await db.query(sql)).rows.map((r) => r.id as string)
    /** The last 4 digits of this block's rows in `table` (the tests above add rows of their own). */
    const rowsOf = (table: string) =>
      ids(`select right(task_id::text, 4) as id from tasklane.${table}
           where task_id::text like '${ID}%' order by 1`)

    it('drops a month’s completed leaf past completed retention and keeps its failed history until failed retention', async () => {
      const month = home[`${ID}0001`]!.replace(/_completed$/, '')
      const dropped = await maintenanceFor(kdb, {
        TASKLANE_RETENTION_COMPLETED: '10d',
        TASKLANE_RETENTION_FAILED: '3650d',
      }).pruneOnce()
      expect(dropped.dropped).toContain(`${month}_completed`)
      expect(dropped.dropped).not.toContain(month)
      expect(await exists(`${month}_completed`)).toBe(false)
      expect(await exists(`${month}_other`)).toBe(true)
      // The completed row in the default partition is past retention too: deleted by age.
      expect(dropped.deletedRows).toBe(1)
      expect(await rowsOf('task_history')).toEqual(['0002', '0003'])
      expect(await rowsOf('task_attempt')).toEqual(['0002'])
      // Progress rows outlive the longer of the two retentions; idempotency keys the completed one.
      expect(await rowsOf('task_progress')).toEqual(['0001', '0003'])
      expect(await ids(`select key as id from tasklane.idempotency_key order by 1`)).toEqual(['new'])
      // Every day before today was folded into the rollup first: reports keep the dropped rows.
      const { rows } = await db.query(
        `select sum(completed)::int as completed, sum(failed)::int as failed from tasklane.task_rollup`,
      )
      expect(rows[0]).toEqual({ completed: 1, failed: 1 })
    })

    it('drops the whole month, attempts included, once failed retention passes too; a second pass drops nothing', async () => {
      const month = home[`${ID}0002`]!.replace(/_other$/, '')
      const attemptMonth = home[`${ID}0002/attempt`]!
      const m = maintenanceFor(kdb, { TASKLANE_RETENTION_COMPLETED: '10d', TASKLANE_RETENTION_FAILED: '20d' })
      const { dropped } = await m.pruneOnce()
      expect(dropped).toEqual(expect.arrayContaining([month, attemptMonth]))
      expect(await exists(month)).toBe(false)
      expect(await exists(attemptMonth)).toBe(false)
      expect(await rowsOf('task_history')).toEqual(['0003'])
      expect(await rowsOf('task_attempt')).toEqual([])
      expect(await rowsOf('task_progress')).toEqual(['0003'])
      // Complete history now starts after the month dropped.
      const { rows } = await db.query(`select history_from::text as d from tasklane.rollup_state`)
      expect(rows[0].d > month.replace(/^task_history_y(\d{4})m(\d\d)$/, '$1-$2-01')).toBe(true)
      expect(await m.pruneOnce()).toEqual({ dropped: [], deletedRows: 0 })
      // Today's row is kept through all of it.
      expect(await rowsOf('task_history')).toEqual(['0003'])
    })
  })
})

/** A LISTEN on the app's events channel; next() resolves with the first message matching. */
async function listen(url: string) {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  const seen: BusMessage[] = []
  const waiters: { match: (m: BusMessage) => boolean; resolve: (m: BusMessage) => void }[] = []
  client.on('notification', (n) => {
    for (const m of decodePayload(n.payload ?? '')) {
      seen.push(m)
      for (const w of waiters.filter((w) => w.match(m))) {
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve(m)
      }
    }
  })
  await client.query(`listen ${eventsChannel()}`)
  return {
    next(match: (m: BusMessage) => boolean): Promise<BusMessage> {
      const found = seen.find(match)
      if (found) return Promise.resolve(found)
      return new Promise((resolve) => waiters.push({ match, resolve }))
    },
    close: () => client.end(),
  }
}
