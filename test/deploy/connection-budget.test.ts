import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../../src/config.ts'
import { connectionBudget } from '../../src/db/connection-budget.ts'
import { createApp } from '../../src/http/app.ts'
import { createLogger } from '../../src/logger.ts'
import { createTasklane, type Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { waitUntil } from '../faults/support/wait.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'

// Issue 14, item 4: one setting bounds the connections a process opens, everything included (pools,
// LISTEN, the migration and the start-up probe), and a budget too small to work is refused.

const step = defineTask({
  name: 'step',
  async run(args: { n: number }, ctx) {
    await ctx.progress(50, `half of ${args.n}`)
    return { n: args.n }
  },
})

describe('connection budget: the split', () => {
  it('keeps the default of earlier releases: tasklane 10, pg-boss 4, LISTEN 1', () => {
    expect(loadConfig({}).maxConnections).toBe(15)
    expect(connectionBudget(15)).toEqual({ total: 15, listen: 1, bossPool: 4, tasklanePool: 10 })
  })

  it('splits any budget from 3 up so the parts add up to it', () => {
    for (let n = 3; n <= 40; n++) {
      const b = connectionBudget(n)
      expect(b.listen + b.bossPool + b.tasklanePool).toBe(n)
      expect(Math.min(b.bossPool, b.tasklanePool)).toBeGreaterThanOrEqual(1)
    }
  })

  it('refuses a budget that cannot work, saying what the connections are for', () => {
    expect(() => loadConfig({ TASKLANE_MAX_CONNECTIONS: '2' })).toThrow(ConfigError)
    expect(() => loadConfig({ TASKLANE_MAX_CONNECTIONS: '2' })).toThrow(
      /TASKLANE_MAX_CONNECTIONS="2" is invalid: expected an integer from 3 to 10000: a process needs one LISTEN connection, one for pg-boss to lease with and one for tasklane to settle with/,
    )
    expect(() => connectionBudget(2)).toThrow(/maxConnections=2 is invalid: expected an integer from 3/)
    expect(() => connectionBudget(15, 0)).toThrow(/poolSize=0 is invalid/)
  })
})

describe('connection budget: what a busy process really opens', () => {
  let db: TestDatabase

  beforeAll(async () => {
    db = await createTestDatabase()
  })
  afterAll(async () => {
    await db?.drop()
  })

  /**
   * Counts this process's open tasklane connections (every pool, LISTEN, migration and probe names its
   * connections `tasklane…`), at the client: a count from pg_stat_activity would also see, for a few
   * milliseconds, the server process of a connection the client has already closed.
   */
  function countConnections() {
    const Client = pg.Client.prototype as unknown as {
      connect: (...args: unknown[]) => unknown
    }
    const original = Client.connect
    const counter = { open: 0, peak: 0 }
    Client.connect = function (
      this: pg.Client & { connectionParameters: { application_name?: string } },
      ...args
    ) {
      if (this.connectionParameters.application_name?.startsWith('tasklane')) {
        counter.open++
        counter.peak = Math.max(counter.peak, counter.open)
        this.once('end', () => counter.open--)
      }
      return original.apply(this, args)
    }
    return { counter, restore: () => (Client.connect = original) }
  }

  /** Runs a busy workload under `maxConnections`; resolves with the peak of open connections. */
  async function peakUnder(maxConnections: number): Promise<{ peak: number; completed: number }> {
    const { counter, restore } = countConnections()
    let tasks: Tasklane | undefined
    try {
      tasks = createTasklane({
        config: loadConfig({ DATABASE_URL: db.url, LOG_LEVEL: 'silent' }),
        logger: createLogger('silent'),
        tasks: [step],
        workers: 4,
        maxConnections,
        migrate: true, // the migration at start counts too
      })
      await tasks.start()
      const app = createApp({ tasks })
      const events = await app.request('/events')
      // Enqueues over HTTP and in process, stats and reads, all at once with 4 busy worker slots.
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, n) =>
          app.request('/tasks/step', {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ args: { n } }),
          }),
        ),
      )
      const ids = [
        ...(await Promise.all(answers.map(async (a) => ((await a.json()) as { taskId: string }).taskId))),
        ...(
          await tasks.addTasks(
            step,
            Array.from({ length: 20 }, (_, n) => ({ n: 100 + n })),
          )
        ).map((t) => t.taskId),
      ]
      const [finals] = await Promise.all([
        Promise.all(ids.map((id) => tasks!.waitFor(id, { timeout: '60s' }))),
        tasks.getTaskStats(),
        app.request('/stats'),
        tasks.listTasks({ limit: 100 }),
      ])
      await events.body?.cancel()
      await tasks.stop({ timeout: '2s' })
      // Everything it opened, it closed (a socket's 'end' can follow pool.end() by a few ms).
      await waitUntil(
        'every connection closed',
        async () => counter.open,
        (n) => n === 0,
        {
          timeoutMs: 5_000,
          everyMs: 10,
        },
      )
      return { peak: counter.peak, completed: finals.filter((t) => t.status === 'completed').length }
    } finally {
      await tasks?.stop({ timeout: '2s' })
      restore()
    }
  }

  it('stays within the smallest budget (3) and still gets all the work done', async () => {
    const { peak, completed } = await peakUnder(3)
    expect(completed).toBe(40)
    expect(peak).toBeGreaterThanOrEqual(2)
    expect(peak).toBeLessThanOrEqual(3)
  })

  it('stays within a budget of 7', async () => {
    const { peak, completed } = await peakUnder(7)
    expect(completed).toBe(40)
    expect(peak).toBeLessThanOrEqual(7)
  })

  it('refuses the option below 3 at createTasklane, before anything connects', () => {
    const create = () =>
      createTasklane({
        config: loadConfig({ DATABASE_URL: db.url, LOG_LEVEL: 'silent' }),
        logger: createLogger('silent'),
        tasks: [step],
        maxConnections: 2,
      })
    expect(create).toThrow(ConfigError)
    expect(create).toThrow(/maxConnections=2 is invalid/)
  })
})
