import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CallerDb } from '../../../src/enqueue/caller-db.ts'
import { engineOf } from '../../../src/internal.ts'
import { bossWakeChannel } from '../../../src/queue/wake-channel.ts'
import type { Tasklane } from '../../../src/tasklane.ts'
import { defineTask } from '../../../src/tasks/define-task.ts'
import { createTestDatabase, type TestDatabase } from '../../support/database.ts'
import { startTasklane } from '../../support/tasklane.ts'

/** One client library, driven the way its users write a transaction. */
export interface ClientHarness {
  /**
   * Runs `work` in one transaction of this client: commits when it resolves, rolls back when it
   * throws. `db` is what the user passes to addTask; `insertOrder` writes a business row with it.
   */
  transaction<T>(
    work: (tx: { db: CallerDb; insertOrder(item: string): Promise<void> }) => Promise<T>,
  ): Promise<T>
  close(): Promise<void>
}

export const shipOrder = defineTask({
  name: 'ship-order',
  async run(args: { item: string }) {
    return { shipped: args.item }
  },
})

/**
 * The contract every client must meet (issue 16): business row and task in one transaction; commit
 * → the task runs; rollback → neither exists; an idempotency key reused in the same transaction
 * deduplicates; workers are woken at commit, not before.
 */
export function describeClientContract(name: string, connect: (url: string) => Promise<ClientHarness>) {
  describe(`enqueue in a ${name} transaction`, () => {
    let db: TestDatabase
    let tasks: Tasklane
    let client: ClientHarness
    const item = (what: string) => `${name}:${what}`
    const orders = async (what: string) =>
      (await db.query('select count(*)::int as n from orders where item = $1', [item(what)])).rows[0].n
    const jobs = async (what: string) =>
      (
        await db.query(`select count(*)::int as n from pgboss.job where data->'args'->>'item' = $1`, [
          item(what),
        ])
      ).rows[0].n

    beforeAll(async () => {
      db = await createTestDatabase()
      await db.query('create table orders (id serial primary key, item text not null)')
      // Polling is pushed past the test's waits (30 s at most; 60 s is the longest poll interval): a
      // task runs only if its commit woke the worker.
      tasks = await startTasklane(db.url, [shipOrder], { workers: 1, pollInterval: '60s' })
      client = await connect(db.url)
    })
    afterAll(async () => {
      await client?.close()
      await tasks?.stop()
      await db?.drop()
    })

    it('commit: writes the business row and the task together, and the task runs', async () => {
      const { taskId, deduplicated } = await client.transaction(async (tx) => {
        await tx.insertOrder(item('commit'))
        return tasks.addTask(shipOrder, { item: item('commit') }, { db: tx.db })
      })
      expect(deduplicated).toBe(false)
      expect(await orders('commit')).toBe(1)
      const done = await tasks.waitFor(taskId, { timeout: '30s' })
      expect(done.status).toBe('completed')
      expect(done.result).toEqual({ shipped: item('commit') })
    })

    it('rollback: neither the business row nor the task exists', async () => {
      let taskId = ''
      await expect(
        client.transaction(async (tx) => {
          await tx.insertOrder(item('rollback'))
          ;({ taskId } = await tasks.addTask(shipOrder, { item: item('rollback') }, { db: tx.db }))
          throw new Error('business rule failed')
        }),
      ).rejects.toThrow('business rule failed')
      expect(taskId).toMatch(/^[0-9a-f-]{36}$/)
      expect(await orders('rollback')).toBe(0)
      expect(await jobs('rollback')).toBe(0)
      expect(await tasks.getTask(taskId)).toBeNull()
      const keys = await db.query(
        'select count(*)::int as n from tasklane.idempotency_key where task_id = $1',
        [taskId],
      )
      expect(keys.rows[0].n).toBe(0)
    })

    it('an idempotency key reused in the same transaction deduplicates', async () => {
      const key = `${name}:order-42`
      const [first, second] = await client.transaction(async (tx) => {
        await tx.insertOrder(item('keyed'))
        const a = await tasks.addTask(shipOrder, { item: item('keyed') }, { db: tx.db, idempotencyKey: key })
        const b = await tasks.addTask(shipOrder, { item: item('keyed') }, { db: tx.db, idempotencyKey: key })
        return [a, b]
      })
      expect(first!.deduplicated).toBe(false)
      expect(second).toMatchObject({ taskId: first!.taskId, deduplicated: true })
      expect(await jobs('keyed')).toBe(1)
      // A different request under the same key is refused, and the transaction writes nothing.
      await expect(
        client.transaction(async (tx) => {
          await tx.insertOrder(item('keyed-other'))
          return tasks.addTask(shipOrder, { item: item('other') }, { db: tx.db, idempotencyKey: key })
        }),
      ).rejects.toMatchObject({ code: 'idempotency_conflict' })
      expect(await orders('keyed-other')).toBe(0)
    })

    it('wakes workers at commit, not before', async () => {
      // Notifications arrive in commit order. A sentinel NOTIFY committed while the enqueue's
      // transaction is still open arrives first only if the enqueue's wake-up has not been sent.
      const wakes: string[] = []
      const off = engineOf(tasks).bus.onWake((queue) => wakes.push(queue))
      const notifier = new pg.Client({ connectionString: db.url })
      await notifier.connect()
      try {
        // Wake-ups committed by the earlier tests may still be in flight on a loaded machine: a
        // barrier NOTIFY, once received, proves every earlier one has arrived, so any 'default' wake
        // after it comes from this test's enqueue.
        const barrier = `barrier-${name}`
        await notifier.query('select pg_notify($1, $2)', [bossWakeChannel('pgboss'), barrier])
        await expect.poll(() => wakes.includes(barrier), { timeout: 20_000 }).toBe(true)
        wakes.length = 0
        const sentinel = `sentinel-${name}`
        const { taskId } = await client.transaction(async (tx) => {
          const result = await tasks.addTask(shipOrder, { item: item('wake') }, { db: tx.db })
          await notifier.query('select pg_notify($1, $2)', [bossWakeChannel('pgboss'), sentinel])
          await expect.poll(() => wakes.includes(sentinel), { timeout: 20_000 }).toBe(true)
          expect(wakes).not.toContain('default')
          return result
        })
        await expect.poll(() => wakes.includes('default'), { timeout: 20_000 }).toBe(true)
        expect(wakes.indexOf('default')).toBeGreaterThan(wakes.indexOf(sentinel))
        expect((await tasks.waitFor(taskId, { timeout: '30s' })).status).toBe('completed')
      } finally {
        off()
        await notifier.end()
      }
    })
  })
}
