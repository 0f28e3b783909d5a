import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EventBus, PING_TIMEOUT_MS } from '../../src/events/event-bus.ts'
import { createLogger } from '../../src/logger.ts'
import { waitUntil } from '../faults/support/wait.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'

// The LISTEN connection's ping (every keep-alive interval) takes a connection that does not answer
// within PING_TIMEOUT_MS for dead and replaces it, which also drops the process's owner lock. A
// process whose event loop was blocked longer than that (a CPU-bound inline handler) has its answer
// waiting in the socket, or its ping still queued behind another query: not a dead connection.
describe('EventBus ping', () => {
  let db: TestDatabase
  beforeAll(async () => {
    db = await createTestDatabase()
  })
  afterAll(async () => {
    await db?.drop()
  })

  /** Blocks the event loop past the ping timeout, from a later callback (as a handler would). */
  const blockLoop = () =>
    setImmediate(() => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, PING_TIMEOUT_MS + 500))

  /**
   * A bus whose pings are watched: `onPing(inFlight)` runs as each ping is sent (inFlight: a session
   * query was still unanswered, so the ping waits behind it) and says whether to block the loop then.
   * Resolves once two pings after the last blocked one were answered, with what the bus did.
   */
  const run = async (
    block: (n: number, behindQuery: boolean) => boolean,
    during?: (bus: EventBus) => Promise<unknown>,
  ) => {
    /** The backend pid of each session the bus set up. */
    const sessions: number[] = []
    let reconnects = 0
    let blocks = 0
    let pending = 0
    const later: Promise<unknown>[] = []
    let pings = 0
    const bus = new EventBus({
      connectionString: db.url,
      eventsChannel: 'ping_test',
      wakeChannel: 'ping_test_wake',
      log: createLogger('silent'),
      keepAliveMs: 50,
      onSession: async (client) => {
        sessions.push((await client.query('select pg_backend_pid() as pid')).rows[0].pid)
        const query = client.query.bind(client) as (...a: unknown[]) => Promise<unknown>
        ;(client as { query: unknown }).query = (...args: unknown[]) => {
          if (args[0] !== 'select 1') {
            pending++
            return query(...args).finally(() => pending--)
          }
          const answer = query(...args)
          if (block(++pings, pending > 0)) {
            blocks++
            blockLoop()
          } else if (blocks > 0) later.push(answer)
          return answer
        }
      },
    })
    bus.onReconnect(() => reconnects++)
    await bus.start()
    try {
      await during?.(bus)
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
      const pid = (await bus.withSession((c) => c.query('select pg_backend_pid() as pid')))?.rows[0].pid
      return {
        blocks,
        reconnects,
        sessions: sessions.length,
        connected: bus.connected,
        samePid: pid === sessions[0],
      }
    } finally {
      await bus.stop()
    }
  }
  const kept = (blocks: number) => ({ blocks, reconnects: 0, sessions: 1, connected: true, samePid: true })

  it('keeps its connection when the event loop was blocked past the ping timeout with a ping in flight', async () => {
    // The second and third pings: their answers arrive during the block and wait unread.
    expect(await run((n) => n === 2 || n === 3)).toEqual(kept(2))
  })

  it('keeps its connection when a ping queued behind a session query waited out a blocked loop', async () => {
    // A session query (the owner lock's checks use the same connection) is answered during the
    // block; the ping queued behind it is only sent once that answer is read.
    let blocked = false
    const result = await run(
      (_, behind) => {
        if (!behind || blocked) return false
        blocked = true
        return true
      },
      // Until a ping was sent while one was unanswered (every time, unless the machine is starved).
      async (bus) => {
        while (!blocked) await bus.withSession((c) => c.query('select pg_sleep(0.3)'))
      },
    )
    expect(result).toEqual(kept(1))
  })
})
