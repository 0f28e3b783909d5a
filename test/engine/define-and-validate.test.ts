import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { TasklaneError } from '../../src/errors.ts'
import type { Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { TaskPriority } from '../../src/tasks/priority.ts'
import { TaskRegistry } from '../../src/tasks/registry.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'

const email = defineTask({
  name: 'email.send',
  schema: z.object({ to: z.email(), subject: z.string().min(1) }),
  async run(args) {
    return { to: args.to }
  },
})
const unregistered = defineTask({ name: 'not-registered', run: () => null })

describe('defineTask and the registry', () => {
  it('rejects invalid names, durations and options with a message that says what to do', () => {
    expect(() => defineTask({ name: 'Bad Name', run: () => 1 })).toThrow(/task name "Bad Name" is invalid/)
    expect(() => defineTask({ name: 'ok', timeout: '10 parsecs', run: () => 1 })).toThrow(
      /timeout must be a duration/,
    )
    expect(() => defineTask({ name: 'ok', retry: { limit: -1 }, run: () => 1 })).toThrow(
      /retry.limit must be an integer/,
    )
    expect(() => defineTask({ name: 'ok', priority: 'URGENT' as never, run: () => 1 })).toThrow(
      /priority must be one of/,
    )
    expect(() => defineTask({ name: 'ok', mode: 'thread', run: () => 1 })).toThrow(
      /mode 'thread' needs module/,
    )
  })

  it('accepts durations as ms or strings', () => {
    expect(defineTask({ name: 'a', timeout: '30s', run: () => 1 }).timeoutMs).toBe(30_000)
    expect(
      defineTask({ name: 'b', timeout: 1500, retry: { delay: '10m' }, run: () => 1 }).retry.delayMs,
    ).toBe(600_000)
  })

  it('rejects duplicate task names', () => {
    expect(() => new TaskRegistry([email, defineTask({ name: 'email.send', run: () => 1 })])).toThrow(
      /defined twice/,
    )
  })
})

describe('enqueue validation writes nothing', () => {
  let db: TestDatabase
  let tasks: Tasklane
  const jobs = async () => (await db.query('select count(*)::int as n from pgboss.job')).rows[0].n as number

  beforeAll(async () => {
    db = await createTestDatabase()
    tasks = await startTasklane(db.url, [email], { workers: 0 })
  })
  afterAll(async () => {
    await tasks?.stop()
    await db?.drop()
  })

  const cases: [string, () => Promise<unknown>, RegExp][] = [
    [
      'args failing the schema (naming the field)',
      () => tasks.addTask(email, { to: 'nope', subject: 'x' }),
      /args\.to/,
    ],
    [
      'a function in args',
      () => tasks.addTask(email, { to: 'a@b.co', subject: 'x', cb: () => 1 } as never),
      /args\.cb is a function/,
    ],
    [
      'a BigInt in args',
      () => tasks.addTask(email, { to: 'a@b.co', subject: 'x', n: 1n } as never),
      /BigInt/,
    ],
    [
      'a cycle in args',
      () => {
        const a: Record<string, unknown> = { to: 'a@b.co', subject: 'x' }
        a.self = a
        return tasks.addTask(email, a as never)
      },
      /cycle/,
    ],
    [
      'a closure instead of a task',
      () => tasks.addTask((() => 1) as never, {}),
      /not a function: a closure cannot be persisted/,
    ],
    ['an unregistered task', () => tasks.addTask(unregistered, {}), /not registered/],
    [
      'an invalid priority',
      () => tasks.addTask(email, { to: 'a@b.co', subject: 'x' }, { priority: 'urgent' as never }),
      /priority "urgent" is invalid/,
    ],
    [
      'an invalid delay',
      () => tasks.addTask(email, { to: 'a@b.co', subject: 'x' }, { delay: 'soon' }),
      /delay "soon" is invalid/,
    ],
    [
      'an invalid startAfter',
      () => tasks.addTask(email, { to: 'a@b.co', subject: 'x' }, { startAfter: 'tomorrow' }),
      /startAfter "tomorrow" is invalid/,
    ],
    [
      'one bad item of a batch',
      () =>
        tasks.addTasks(email, [
          { to: 'a@b.co', subject: 'x' },
          { to: 'bad', subject: 'y' },
        ]),
      /item 1/,
    ],
  ]

  it.each(cases)('rejects %s', async (_name, call, message) => {
    const before = await jobs()
    await expect(call()).rejects.toThrow(message)
    expect(await jobs()).toBe(before)
  })

  it('reports schema failures as a 400 TasklaneError with per-field details', async () => {
    const err = await tasks.addTask(email, { to: 'x', subject: '' }).catch((e) => e)
    expect(err).toBeInstanceOf(TasklaneError)
    expect(err.status).toBe(400)
    expect(err.details.map((d: { path: string }) => d.path).sort()).toEqual(['args.subject', 'args.to'])
  })

  it('stores a delayed task as scheduled, on the database clock', async () => {
    const r = await tasks.addTask(
      email,
      { to: 'a@b.co', subject: 'later' },
      { delay: '10m', priority: TaskPriority.HIGH },
    )
    expect(r.status).toBe('scheduled')
    const info = await tasks.getTask(r.taskId)
    expect(info).toMatchObject({ status: 'scheduled', priority: 'HIGH' })
    const { rows } = await db.query(
      `select extract(epoch from start_after - created_on)::int as s from pgboss.job where id = $1`,
      [r.taskId],
    )
    expect(rows[0].s).toBe(600)
  })
})
