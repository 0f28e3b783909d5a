import pg from 'pg'
import type { Logger } from '../logger.ts'
import type { BusMessage } from './event-types.ts'
import { decodePayload, isStatusBatch } from './notify.repository.ts'

export interface EventBusOptions {
  connectionString: string
  /** This app's events channel (eventsChannel(schema)): task events and cancels. */
  eventsChannel: string
  /** pg-boss's wake-up channel: its payload is the name of a queue that has new ready work. */
  wakeChannel: string
  log: Logger
  /** Checks the LISTEN connection this often; a dead one is replaced (default {@link KEEP_ALIVE_MS}). */
  keepAliveMs?: number
  /**
   * Session state to set up on every new LISTEN connection before it counts as connected (the
   * worker's owner lock, worker/liveness.ts). A throw fails the attempt: the connection is closed and
   * tried again after {@link RECONNECT_DELAY_MS}.
   */
  onSession?: (client: pg.ClientBase) => Promise<void>
}

/** How often the LISTEN connection is pinged by default. */
export const KEEP_ALIVE_MS = 5_000
/** How long a ping may take before its connection is taken for dead. */
export const PING_TIMEOUT_MS = 3_000
/** A ping timer firing this much later than due means the event loop was blocked (ms). */
const PING_LATE_MS = 500
/** The wait between failed connection attempts (the first attempt after a loss is immediate). */
export const RECONNECT_DELAY_MS = 500

type Listener<T> = (value: T) => void

/**
 * One LISTEN connection per process, shared by workers (wake-ups, cancels) and by task streams
 * (TaskStream: events(), waitFor, SSE). Reconnects by itself; every reconnect is announced so that
 * consumers can re-read state they may have missed while it was down (workers poll, one-task streams
 * re-read the task).
 */
export class EventBus {
  readonly #opts: EventBusOptions
  readonly #messageListeners = new Set<Listener<BusMessage>>()
  /** Listeners that take status events: while there are none, status batches are not even parsed. */
  readonly #statusListeners = new Set<Listener<BusMessage>>()
  readonly #wakeListeners = new Set<Listener<string>>()
  readonly #reconnectListeners = new Set<Listener<void>>()
  #client: pg.Client | null = null
  #stopped = true
  #keepAlive: NodeJS.Timeout | null = null
  #retry: NodeJS.Timeout | null = null
  #connecting: Promise<void> | null = null
  #connected = false

  constructor(opts: EventBusOptions) {
    this.#opts = opts
  }

  /**
   * The longest a live process's LISTEN connection can stay lost while the database answers: an
   * unannounced loss is found by the next ping (keep-alive interval + ping timeout), then one
   * reconnect delay (ms). A loss the server announces (pg_terminate_backend, a restart) is found at
   * once. Liveness waits this long after its own reconnect before judging others (worker/liveness.ts).
   * @example new EventBus({ ...opts, keepAliveMs: 5_000 }).reconnectWithinMs // 8_500
   */
  get reconnectWithinMs(): number {
    return (this.#opts.keepAliveMs ?? KEEP_ALIVE_MS) + PING_TIMEOUT_MS + RECONNECT_DELAY_MS
  }

  get connected(): boolean {
    return this.#connected
  }

  /** Resolves once listening, or after the first failed attempt (it keeps retrying in the background). */
  async start(): Promise<void> {
    if (!this.#stopped) return
    this.#stopped = false
    await this.#connect()
    this.#keepAlive = setInterval(() => void this.#ping(), this.#opts.keepAliveMs ?? KEEP_ALIVE_MS)
    this.#keepAlive.unref()
  }

  async stop(): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    if (this.#keepAlive) clearInterval(this.#keepAlive)
    if (this.#retry) clearTimeout(this.#retry)
    await this.#connecting?.catch(() => {})
    const client = this.#client
    this.#client = null
    this.#connected = false
    await client?.end().catch(() => {})
  }

  /**
   * Calls `listener` with every message on the events channel, or with those of the given `types`
   * only. A worker listens for cancels alone: a busy process's settles announce hundreds of
   * statuses per transaction, and decoding them for no one cost it microseconds per task.
   * @returns unsubscribe
   * @example bus.onMessage((m) => abortCancelled(m), ['cancel'])
   */
  onMessage(listener: Listener<BusMessage>, types?: readonly BusMessage['type'][]): () => void {
    const wanted = types && new Set(types)
    const l: Listener<BusMessage> = wanted
      ? (m) => {
          if (wanted.has(m.type)) listener(m)
        }
      : listener
    this.#messageListeners.add(l)
    if (!wanted || wanted.has('status')) this.#statusListeners.add(l)
    return () => {
      this.#messageListeners.delete(l)
      this.#statusListeners.delete(l)
    }
  }

  onWake(listener: Listener<string>): () => void {
    this.#wakeListeners.add(listener)
    return () => this.#wakeListeners.delete(listener)
  }

  onReconnect(listener: Listener<void>): () => void {
    this.#reconnectListeners.add(listener)
    return () => this.#reconnectListeners.delete(listener)
  }

  /**
   * Runs `fn` on the LISTEN connection if it is up (resolves undefined if not, without calling it).
   * For session state that must live and die with this connection: the worker's owner lock
   * (worker/liveness.ts). `fn` shares the connection with LISTEN: keep it to short queries.
   * @throws whatever `fn` throws (a query on a connection that just dropped rejects)
   * @example const held = await bus.withSession((c) => tryOwnerLock(c, lock)) // true | false | undefined
   */
  async withSession<T>(fn: (client: pg.ClientBase) => Promise<T>): Promise<T | undefined> {
    const client = this.#client
    if (!client || !this.#connected) return undefined
    return fn(client)
  }

  /**
   * Whether `client` (as passed to withSession or onSession) is the LISTEN connection, and up: false
   * once it is lost, even before a new one replaces it. Never throws.
   * @example if (bus.isSession(lockedOn)) stamp(key)
   */
  isSession(client: pg.ClientBase): boolean {
    return this.#connected && this.#client === client
  }

  /** Number of live subscriptions (tests use it to prove that closed streams leave nothing behind). */
  get listenerCount(): number {
    return this.#messageListeners.size + this.#wakeListeners.size + this.#reconnectListeners.size
  }

  #connect(): Promise<void> {
    if (this.#connecting) return this.#connecting
    this.#connecting = (async () => {
      const client = new pg.Client({
        connectionString: this.#opts.connectionString,
        application_name: 'tasklane-listen',
        keepAlive: true,
        connectionTimeoutMillis: 5_000,
      })
      client.on('error', () => this.#lost(client))
      client.on('end', () => this.#lost(client))
      client.on('notification', (n) => this.#dispatch(n.channel, n.payload))
      try {
        await client.connect()
        await client.query(`LISTEN "${this.#opts.eventsChannel}"; LISTEN "${this.#opts.wakeChannel}"`)
        // Before the connection counts as connected: no one sees it without its session state. A
        // throw (the connection dropped meanwhile) fails this attempt like a failed LISTEN.
        await this.#opts.onSession?.(client)
      } catch (err) {
        client.end().catch(() => {})
        this.#opts.log.warn({ err: (err as Error).message }, 'event bus: LISTEN failed, retrying')
        this.#scheduleRetry()
        return
      }
      if (this.#stopped) {
        await client.end().catch(() => {})
        return
      }
      const wasReconnect = this.#client !== null || this.#everConnected
      this.#client = client
      this.#connected = true
      this.#everConnected = true
      if (wasReconnect) for (const l of this.#reconnectListeners) l()
    })().finally(() => {
      this.#connecting = null
    })
    return this.#connecting
  }

  #everConnected = false

  #lost(client: pg.Client) {
    if (this.#client !== client) return
    this.#client = null
    this.#connected = false
    client.end().catch(() => {})
    // At once: a live process whose connection was cut (pg_terminate_backend, a pooler restart) must
    // hold its owner lock again well within the grace other processes give it (worker/liveness.ts).
    // Further attempts wait RECONNECT_DELAY_MS each, and at most one immediate attempt is made per
    // RECONNECT_DELAY_MS (no tight loop against a server that accepts and drops).
    if (this.#stopped) return
    const now = performance.now()
    if (now - this.#immediateAt < RECONNECT_DELAY_MS) return this.#scheduleRetry()
    this.#immediateAt = now
    void this.#connect()
  }

  #immediateAt = Number.NEGATIVE_INFINITY

  #scheduleRetry() {
    if (this.#stopped || this.#retry) return
    this.#retry = setTimeout(() => {
      this.#retry = null
      void this.#connect()
    }, RECONNECT_DELAY_MS)
    this.#retry.unref()
  }

  async #ping() {
    const client = this.#client
    if (!client) {
      this.#scheduleRetry()
      return
    }
    // A connection killed by pg_terminate_backend or a restart may not emit 'error' until it is
    // used: a cheap query every few seconds finds out.
    try {
      await Promise.race([client.query('select 1'), pingDeadline()])
    } catch {
      this.#lost(client)
    }
  }

  #dispatch(channel: string, payload: string | undefined) {
    if (channel === this.#opts.wakeChannel) {
      for (const l of this.#wakeListeners) l(payload ?? '')
      return
    }
    if (channel !== this.#opts.eventsChannel || !payload) return
    if (this.#statusListeners.size === 0 && isStatusBatch(payload)) return
    let messages: BusMessage[]
    try {
      messages = decodePayload(payload)
    } catch {
      return
    }
    for (const message of messages) {
      for (const l of this.#messageListeners) {
        try {
          l(message)
        } catch (err) {
          this.#opts.log.error({ err }, 'event listener threw')
        }
      }
    }
  }
}

/**
 * Rejects once a ping has gone unanswered for {@link PING_TIMEOUT_MS}, counting only time this process
 * could have read the answer in. An event loop blocked for a while (a CPU-bound inline handler, a long
 * GC pause) runs due timers before it reads sockets, so the answer may sit unread when the timer
 * fires: a timer that fires over {@link PING_LATE_MS} late (the loop was blocked) starts the timeout
 * again, and otherwise the verdict waits one turn of the loop (setImmediate runs after pending I/O is
 * read). The same holds for a ping queued behind another query of the session (withSession), which
 * is only sent once that one's answer is read. Taking such a connection for dead would close it, and
 * with it this process's owner lock: other workers could then judge a live, merely busy process dead
 * (worker/liveness.ts).
 */
function pingDeadline(): Promise<never> {
  return new Promise<never>((_, reject) => {
    const arm = () => {
      const due = performance.now() + PING_TIMEOUT_MS
      setTimeout(() => {
        if (performance.now() - due > PING_LATE_MS) return arm()
        setImmediate(() => reject(new Error('ping timeout')))
      }, PING_TIMEOUT_MS).unref()
    }
    arm()
  })
}
