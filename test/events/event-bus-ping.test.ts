import type pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EventBus, PING_TIMEOUT_MS } from '../../src/events/event-bus.ts'
import { createLogger } from '../../src/logger.ts'
import { waitUntil } from '../faults/support/wait.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'

// The LISTEN connection's ping (every keep-alive interval) takes a connection that does not answer
// within PING_TIMEOUT_MS for dead and replaces it, which also drops the process's owner lock. A
// process whose event loop was blocked longer than that (a CPU-bound inline handler) has its answer
// waiting in the socket: that is not a dead connection.
describe('EventBus ping', () => {
  let db: TestDatabase
  beforeAll(async () => {
    db = await createTestDatabase()
  })
  afterAll(async () => {
    await db?.drop()
  })

  it('keeps its connection when the event loop was blocked longer than the ping timeout while a ping was in flight', async () => {
    const sessions: pg.ClientBase[] = []
    let reconnects = 0
    let blocked = 0
    /** Answers of the pings sent after the blocked ones. */
    const later: Promise<unknown>[] = []
    const bus = new EventBus({
      connectionString: db.url,
      eventsChannel: 'ping_test',
      wakeChannel: 'ping_test_wake',
      log: createLogger('silent'),
      keepAliveMs: 50,
      onSession: async (client) => {
        sessions.push(client)
        // A ping is sent, then the event loop is blocked past the ping's timeout: the answer arrives
        // meanwhile and waits unread. Twice; later pings run normally.
        const query = client.query.bind(client) as (...a: unknown[]) => Promise<unknown>
        ;(client as { query: unknown }).query = (...args: unknown[]) => {
          const answer = query(...args)
          if (args[0] !== 'select 1') return answer
          if (blocked < 2) {
            blocked++
            // Blocked in a later callback, as a handler would (not inside the timer that sent it):
            // the loop then runs its due timers before it reads the socket.
            setImmediate(() =>
              Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, PING_TIMEOUT_MS + 500),
            )
          } else later.push(answer)
          return answer
        }
      },
    })
    bus.onReconnect(() => reconnects++)
    await bus.start()
    try {
      const pid = async () =>
        (await bus.withSession((c) => c.query('select pg_backend_pid() as pid')))?.rows[0].pid
      const first = await pid()
      // A connection judged dead is replaced before the next ping is sent: once two later pings have
      // been answered, a wrong verdict on the blocked ones would show.
      await waitUntil(
        'two pings after the blocked ones',
        async () => later.length,
        (n) => n >= 2,
        {
          timeoutMs: 60_000,
          everyMs: 20,
        },
      )
      await Promise.all(later.slice(0, 2))
      expect({ reconnects, sessions: sessions.length, connected: bus.connected }).toEqual({
        reconnects: 0,
        sessions: 1,
        connected: true,
      })
      expect(await pid()).toBe(first)
    } finally {
      await bus.stop()
    }
  })
})
