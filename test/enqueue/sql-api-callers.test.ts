import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../../src/http/app.ts'
import { createLogger } from '../../src/logger.ts'
import type { Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { call } from '../http/helpers/call.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'

// Callers of the SQL API that are not Node: a trigger on a business table, psql, and an app
// isolated by TASKLANE_SCHEMA.

const run = promisify(execFile)

const welcome = defineTask({
  name: 'welcome',
  async run(args: { email: string }) {
    return { welcomed: args.email }
  },
})

describe('SQL API callers', () => {
  let db: TestDatabase
  let tasks: Tasklane

  const jobsFor = async (email: string, schema = 'pgboss') =>
    (await db.query(`select id from ${schema}.job where data->'args'->>'email' = $1`, [email])).rows.map(
      (r) => r.id as string,
    )

  beforeAll(async () => {
    db = await createTestDatabase()
    tasks = await startTasklane(db.url, [welcome], { workers: 1 })
    await db.query(`
      create table users (id serial primary key, email text not null unique);
      create function users_welcome() returns trigger language plpgsql as $$
      begin
        perform tasklane.add_task('welcome', jsonb_build_object('email', new.email),
          idempotency_key => 'welcome:' || new.id);
        return new;
      end $$;
      create trigger users_welcome after insert on users for each row execute function users_welcome();`)
  })
  afterAll(async () => {
    await tasks?.stop()
    await db?.drop()
  })

  it('a trigger enqueues in the inserting transaction: committed insert → task runs; rolled back → nothing', async () => {
    const client = new pg.Client({ connectionString: db.url })
    await client.connect()
    try {
      await client.query('BEGIN')
      await client.query(`insert into users (email) values ('rolled@example.com')`)
      expect(await jobsFor('rolled@example.com')).toHaveLength(0) // not visible outside the transaction
      await client.query('ROLLBACK')
      expect(await jobsFor('rolled@example.com')).toHaveLength(0)
      const keys = await db.query(
        `select count(*)::int as n from tasklane.idempotency_key where task = 'welcome'`,
      )
      expect(keys.rows[0].n).toBe(0)

      await client.query(`insert into users (email) values ('kept@example.com')`)
      const [id] = await jobsFor('kept@example.com')
      expect(id).toBeDefined()
      const info = await tasks.waitFor(id!, { timeout: '30s' })
      expect(info).toMatchObject({ status: 'completed', result: { welcomed: 'kept@example.com' } })
    } finally {
      await client.end()
    }
  })

  it('psql: BEGIN … ROLLBACK leaves nothing, BEGIN … COMMIT leaves the task', async () => {
    const psql = (script: string) =>
      run('psql', ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-d', db.url, '-c', script])
    const rolled = await psql(
      `BEGIN; select task_id from tasklane.add_task('welcome', '{"email": "psql-rolled"}'); ROLLBACK;`,
    )
    expect(rolled.stdout.trim()).toMatch(/^[0-9a-f-]{36}$/)
    expect(await jobsFor('psql-rolled')).toHaveLength(0)
    const committed = await psql(
      `BEGIN; select task_id from tasklane.add_task('welcome', '{"email": "psql-kept"}'); COMMIT;`,
    )
    const taskId = committed.stdout.trim()
    expect(await jobsFor('psql-kept')).toEqual([taskId])
    expect((await tasks.waitFor(taskId, { timeout: '30s' })).status).toBe('completed')
    // A refusal reaches psql as an error with its SQLSTATE and hint.
    await expect(
      run('psql', [
        '-X',
        '-q',
        '-v',
        'ON_ERROR_STOP=1',
        '-v',
        'VERBOSITY=verbose',
        '-d',
        db.url,
        '-c',
        `select tasklane.add_task('nope')`,
      ]),
    ).rejects.toMatchObject({ stderr: expect.stringMatching(/TL404.*unknown task 'nope'/s) })
  })

  it('an app isolated by TASKLANE_SCHEMA has its own add_task, writing to its own pg-boss schema', async () => {
    const other = await startTasklane(db.url, [welcome], {
      workers: 0,
      migrate: true,
      env: { TASKLANE_SCHEMA: 'app2', TASKLANE_BOSS_SCHEMA: 'app2_boss' },
    })
    try {
      const boss = other.config.bossSchema
      expect(boss).not.toBe('pgboss')
      const { rows } = await db.query(`select task_id from app2.add_task('welcome', '{"email": "app2"}')`)
      expect(await jobsFor('app2', boss)).toEqual([rows[0].task_id])
      expect(await jobsFor('app2')).toHaveLength(0)
      expect((await other.getTask(rows[0].task_id))?.status).toBe('queued')
      expect(await tasks.getTask(rows[0].task_id)).toBeNull()
    } finally {
      await other.stop()
    }
  })

  it('an idempotency key sent over HTTP and then from SQL names one task; a different request is refused', async () => {
    const app = createApp({ tasks })
    const res = await call(app, 'POST', '/tasks/welcome', {
      json: { args: { email: 'http@example.com' }, delay: '1h' },
      headers: { 'Idempotency-Key': 'http-then-sql' },
    })
    expect(res.status).toBe(202)
    const { rows } = await db.query(
      `select * from tasklane.add_task('welcome', '{"email": "http@example.com"}', delay => interval '1 hour',
         idempotency_key => 'http-then-sql')`,
    )
    expect(rows[0]).toMatchObject({ task_id: res.json.taskId, deduplicated: true })
    await expect(
      db.query(
        `select tasklane.add_task('welcome', '{"email": "other"}', idempotency_key => 'http-then-sql')`,
      ),
    ).rejects.toMatchObject({ code: 'TL409' })
    const again = await call(app, 'POST', '/tasks/welcome', {
      json: { args: { email: 'other' } },
      headers: { 'Idempotency-Key': 'http-then-sql' },
    })
    expect(again.status).toBe(409)
  })

  it('every process publishes its definitions at start; the latest start sets the defaults SQL applies', async () => {
    const report = defineTask({ name: 'report', queue: 'reports', async run() {} })
    const welcomeLow = defineTask({ name: 'welcome', priority: 'LOW', async run() {} })
    const web = await startTasklane(db.url, [report, welcomeLow], { workers: 0 })
    try {
      const published = await db.query(
        `select name, queue, priority, published_by from tasklane.task_definition order by name`,
      )
      expect(published.rows).toEqual([
        { name: 'report', queue: 'reports', priority: 'NORMAL', published_by: web.workerId },
        { name: 'welcome', queue: 'default', priority: 'LOW', published_by: web.workerId },
      ])
      const { rows } = await db.query(
        `select task_id from tasklane.add_task('welcome', '{"email": "low"}', delay => interval '1 hour')`,
      )
      const job = await db.query(`select priority from pgboss.job where id = $1`, [rows[0].task_id])
      expect(job.rows[0].priority).toBe(0) // LOW
      const queued = await db.query(
        `select task_id from tasklane.add_task('report', null, delay => interval '1 hour')`,
      )
      expect((await web.getTask(queued.rows[0].task_id))?.queue).toBe('reports')
    } finally {
      await web.stop()
    }
  })

  it('a process starts on a schema without the SQL API (migration 0004 not applied), saying so', async () => {
    const bare = await createTestDatabase()
    try {
      await bare.query(`drop function tasklane.add_task, tasklane.add_tasks;
        drop table tasklane.task_definition, tasklane.setting;
        delete from tasklane.tasklane_migration where name = '0004_sql_enqueue'`)
      const warnings: string[] = []
      const log = createLogger('warn', { write: (line: string) => void warnings.push(line) })
      const started = await startTasklane(bare.url, [welcome], { workers: 0, logger: log })
      try {
        expect(started.started).toBe(true)
        expect(warnings.join('')).toContain('run `tasklane migrate` to apply migration 0004')
      } finally {
        await started.stop()
      }
    } finally {
      await bare.drop()
    }
  })
})
