import { existsSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Tasklane } from '../../src/tasklane.ts'
import { type Child, LIBFAKETIME, skewedClockEnv, spawnTs } from '../support/child-process.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'
import { fixtureTasks, stamp } from './fixtures/fixture-tasks.ts'

// Every instant tasklane records comes from the database's clock (issue 15, kind 3): a worker whose
// own clock is 10 minutes behind (libfaketime) still records when things happened on that clock.

const SKEW = '-10m'
const MINUTE = 60_000

// libfaketime comes from Debian's faketime package (.ci/run installs it); without it, say so and skip.
const haveFaketime = existsSync(LIBFAKETIME)
if (!haveFaketime)
  console.info(`[db-clock] skipped: ${LIBFAKETIME} is missing (Debian: apt-get install -y faketime)`)

describe.skipIf(!haveFaketime)('one clock: the database’s', () => {
  let db: TestDatabase
  let tasks: Tasklane
  let worker: Child | undefined

  beforeAll(async () => {
    db = await createTestDatabase()
    await db.query('create table executions (task_id uuid not null, attempt int not null, pid int not null)')
    tasks = await startTasklane(db.url, fixtureTasks, { workers: 0 })
    worker = spawnTs('test/engine/fixtures/worker-process.ts', {
      DATABASE_URL: db.url,
      TASKLANE_WORKERS: '1',
      ...skewedClockEnv(SKEW),
    })
    await worker.waitForLine(/^ready$/)
  })
  afterAll(async () => {
    worker?.proc.kill('SIGTERM')
    await worker?.exited
    await tasks?.stop()
    await db?.drop()
  })

  it('the skewed worker really runs 10 minutes behind', async () => {
    const { rows } = await db.query(`select now() as now`)
    const child = spawnTs('test/engine/fixtures/print-now.ts', skewedClockEnv(SKEW))
    const line = await child.waitForLine(/^now /)
    const behind = rows[0].now.getTime() - Date.parse(line.slice(4))
    expect(behind).toBeGreaterThan(9 * MINUTE)
  })

  it('records startedAt, finishedAt, attempts and progress on the database clock', async () => {
    const { taskId } = await tasks.addTask(stamp, {})
    const info = await tasks.waitFor(taskId, { timeout: '60s' })
    expect(info.status).toBe('completed')
    expect(info.attempts).toBe(2)
    const created = Date.parse(info.createdAt)
    const started = Date.parse(info.startedAt!)
    const finished = Date.parse(info.finishedAt!)
    // On one clock the order holds and the gaps are small; the worker's clock put startedAt
    // 10 minutes before createdAt and clamped waitMs to 0.
    expect(started).toBeGreaterThanOrEqual(created)
    expect(started - created).toBeLessThan(5 * MINUTE)
    expect(finished).toBeGreaterThanOrEqual(started)
    // wait counts from when the task could run: its retry's startAfter here.
    expect(info.waitMs).toBe(started - Math.max(created, Date.parse(info.startAfter)))
    expect(info.waitMs).toBeGreaterThanOrEqual(0)
    expect(info.durationMs).toBe(finished - started)
    expect(Date.parse(info.progress!.updatedAt)).toBeGreaterThanOrEqual(created)
    const { rows } = await db.query(
      `select a.started_at, a.finished_at, j.created_at
       from tasklane.task_attempt a join tasklane.task_history j on j.task_id = a.task_id
       where a.task_id = $1`,
      [taskId],
    )
    expect(rows).toHaveLength(1)
    expect(rows[0].started_at.getTime()).toBeGreaterThanOrEqual(new Date(info.createdAt).getTime())
    expect(rows[0].finished_at.getTime()).toBeLessThanOrEqual(started)
  })

  it("answers an enqueue's status ('scheduled') on the database's clock", async () => {
    // A process 10 minutes ahead enqueues a task due in 5 minutes by the database's clock.
    const { rows } = await db.query(`select now() + interval '5 minutes' as at`)
    const child = spawnTs('test/engine/fixtures/enqueue-at.ts', {
      DATABASE_URL: db.url,
      START_AFTER: rows[0].at.toISOString(),
      ...skewedClockEnv('+10m'),
    })
    expect(await child.waitForLine(/^status /)).toBe('status scheduled')
    await child.exited
  })

  it('counts the task in getTaskStats() windows, which the database cuts by its own now()', async () => {
    const { taskId } = await tasks.addTask(stamp, {})
    await tasks.waitFor(taskId, { timeout: '60s' })
    const stats = await tasks.getTaskStats()
    expect(stats.totalTasksProcessed).toBeGreaterThanOrEqual(2)
    expect(stats.retryCount).toBeGreaterThanOrEqual(2)
  })
})
