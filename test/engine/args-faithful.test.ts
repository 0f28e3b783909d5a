import type { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { TasklaneError } from '../../src/errors.ts'
import { createApp } from '../../src/http/app.ts'
import type { TasksEnv } from '../../src/http/with-tasks.ts'
import type { Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { call } from '../http/helpers/call.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'

// What a caller sends is what is stored and what `run` receives, or the request is refused naming
// the field with nothing written (issue 15, kind 1).

const received = new Map<string, unknown>()
const scaled = defineTask({
  name: 'scaled',
  schema: z.object({ n: z.number().transform((n) => n * 100) }),
  async run(args, ctx) {
    received.set(ctx.taskId, args)
    return args
  },
})
const dated = defineTask({
  name: 'dated',
  schema: z.object({ when: z.date() }),
  async run() {},
})
const coerced = defineTask({
  name: 'coerced',
  schema: z.object({ when: z.coerce.date() }),
  async run(args, ctx) {
    received.set(ctx.taskId, args)
    return { iso: args.when.toISOString(), isDate: args.when instanceof Date }
  },
})
const loose = defineTask({ name: 'loose', async run() {} })

describe('args reach run exactly as sent', () => {
  let db: TestDatabase
  let tasks: Tasklane
  let app: Hono<TasksEnv>

  beforeAll(async () => {
    db = await createTestDatabase()
    tasks = await startTasklane(db.url, [scaled, dated, coerced, loose], { workers: 1 })
    app = createApp({ tasks })
  })
  afterAll(async () => {
    await tasks?.stop()
    await db?.drop()
  })

  const jobs = async () => (await db.query(`select count(*)::int as n from pgboss.job`)).rows[0].n as number

  it('stores what was sent and applies a transforming schema once, at run time', async () => {
    const { taskId } = await tasks.addTask(scaled, { n: 5 } as never)
    const { rows } = await db.query(`select data->'args' as args from pgboss.job where id = $1`, [taskId])
    expect(rows[0].args).toEqual({ n: 5 })
    expect((await tasks.getTask(taskId))?.args).toEqual({ n: 5 })
    await tasks.waitFor(taskId, { timeout: '20s' })
    expect(received.get(taskId)).toEqual({ n: 500 })
    expect((await tasks.getTask(taskId))?.result).toEqual({ n: 500 })
  })

  it('refuses a Date the schema cannot read back from JSON, saying why, writing nothing', async () => {
    const before = await jobs()
    const err = await tasks.addTask(dated, { when: new Date(0) }).catch((e) => e)
    expect(err).toBeInstanceOf(TasklaneError)
    expect(err.code).toBe('validation_failed')
    expect(err.message).toMatch(/args\.when is a Date/)
    expect(err.message).toMatch(/z\.coerce\.date\(\)/)
    expect(err.details[0].path).toBe('args.when')
    expect(await jobs()).toBe(before)
  })

  it('runs a Date through a schema that reads it back (z.coerce.date())', async () => {
    const { taskId } = await tasks.addTask(coerced, { when: new Date(0) })
    await tasks.waitFor(taskId, { timeout: '20s' })
    expect((await tasks.getTask(taskId))?.result).toEqual({ iso: '1970-01-01T00:00:00.000Z', isDate: true })
  })

  it('refuses values JSON would change for a task without a schema', async () => {
    const before = await jobs()
    for (const [args, path] of [
      [{ when: new Date(0) }, /args\.when is a Date/],
      [{ tags: new Set(['a']) }, /args\.tags is a Set/],
      [{ list: [1, undefined] }, /args\.list\[1\] is undefined/],
      [{ m: new Map() }, /args\.m is a Map/],
    ] as const) {
      const err = await tasks.addTask(loose, args).catch((e) => e)
      expect(err).toBeInstanceOf(TasklaneError)
      expect(err.message).toMatch(path)
    }
    expect(await jobs()).toBe(before)
  })

  it('refuses a startAfter without Z or an offset, naming the field (library)', async () => {
    const before = await jobs()
    for (const startAfter of ['2031-01-01T09:00:00', '2031-01-01T09:00', '2031-01-01']) {
      const err = await tasks.addTask(loose, {}, { startAfter }).catch((e) => e)
      expect(err).toBeInstanceOf(TasklaneError)
      expect(err.details[0].path).toBe('startAfter')
      expect(err.message).toMatch(/no time zone/)
    }
    for (const startAfter of ['2031-02-30T00:00:00Z', '2031-01-01T24:00:00Z', '2031-01-01T00:00:00.0001Z']) {
      const err = await tasks.addTask(loose, {}, { startAfter }).catch((e) => e)
      expect(err).toMatchObject({ code: 'validation_failed', details: [{ path: 'startAfter' }] })
    }
    expect(await jobs()).toBe(before)
  })

  it('refuses a startAfter without Z or an offset over HTTP: 400, nothing written', async () => {
    const before = await jobs()
    const res = await call(app, 'POST', '/tasks/loose', {
      json: { args: {}, startAfter: '2031-01-01T09:00:00' },
    })
    expect(res.status).toBe(400)
    expect(res.json.error.details[0].path).toBe('startAfter')
    expect(await jobs()).toBe(before)
  })

  it('stores the instant an offset names, to the millisecond', async () => {
    const { taskId } = await tasks.addTask(loose, {}, { startAfter: '2031-01-01T09:00:00.250+05:00' })
    const { rows } = await db.query(`select start_after from pgboss.job where id = $1`, [taskId])
    expect(rows[0].start_after.toISOString()).toBe('2031-01-01T04:00:00.250Z')
  })

  it('reads an instant the same whatever the process time zone', async () => {
    // Node re-reads process.env.TZ when it changes, so the process's zone can be switched in place.
    const saved = process.env.TZ
    const instants: string[] = []
    try {
      for (const TZ of ['UTC', 'America/New_York', 'Asia/Tokyo']) {
        process.env.TZ = TZ
        expect(new Date(Date.UTC(2031, 0, 1, 9)).getHours()).toBe(
          { UTC: 9, 'America/New_York': 4, 'Asia/Tokyo': 18 }[TZ],
        )
        const { taskId } = await tasks.addTask(loose, {}, { startAfter: '2031-01-01T09:00:00+00:00' })
        const local = await tasks.addTask(loose, {}, { startAfter: '2031-01-01T09:00:00' }).catch((e) => e)
        expect(local).toBeInstanceOf(TasklaneError)
        const { rows } = await db.query(`select start_after from pgboss.job where id = $1`, [taskId])
        instants.push(rows[0].start_after.toISOString())
      }
    } finally {
      if (saved === undefined) delete process.env.TZ
      else process.env.TZ = saved
    }
    expect(instants).toEqual(Array(3).fill('2031-01-01T09:00:00.000Z'))
  })
})
