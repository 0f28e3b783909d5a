import type { Duration } from '../duration.ts'
import { TasklaneError } from '../errors.ts'
import {
  type BusMessage,
  FINAL_STATUSES,
  type LaggedEvent,
  type ProgressEvent,
  type StatusEvent,
  type TaskChangeEvent,
  type TaskEvent,
  type TaskStatus,
} from './event-types.ts'
import { StreamBuffer } from './stream-buffer.ts'

/** Which events a stream carries; every field given must match. */
export interface EventFilter {
  /** One task: the stream starts with its current state and ends after its final status. */
  taskId?: string
  /** Tasks of this name. */
  task?: string
  /** Tasks of this queue. */
  queue?: string
}

/** Options of `tasks.events()`. */
export interface TaskStreamOptions {
  /**
   * Most events held for a consumer that is not reading (integer >= 1, default 1000). Past it the
   * consumer gets a `lagged` event and a snapshot instead (see LaggedEvent): memory stays bounded.
   */
  bufferSize?: number
  /**
   * A one-task stream re-reads its task this often while no event arrives (default '2s'), so that a
   * lost notification (PgBouncer in transaction mode, a reconnect) delays an update by at most this.
   */
  recheckInterval?: Duration
}

/** Events a stream holds for a consumer that is not reading, before it tells it `lagged`. */
export const DEFAULT_BUFFER_SIZE = 1_000
/** How often a one-task stream re-reads its task while no event comes. */
export const DEFAULT_RECHECK_MS = 2_000

/** The part of the event bus a stream listens to (EventBus has it). */
export interface TaskEventSource {
  onMessage(listener: (message: BusMessage) => void): () => void
  onReconnect(listener: () => void): () => void
}

/**
 * What a stream needs of a task's current state: the fields of TaskInfo it reads, which streams of
 * `tasks.events()` hold as TaskInfo (TaskStream<TaskInfo>).
 * @example const state: TaskState = (await tasks.getTask(taskId))!
 */
export interface TaskState {
  /** The task's id. */
  taskId: string
  /** The task's name. */
  task: string
  /** Its queue. */
  queue: string
  /** Its status now. */
  status: TaskStatus
  /** Attempts started so far. */
  attempts: number
  /** The last progress reported, or null. */
  progress: { percent: number; step: string | null; updatedAt: string } | null
  /** When it was enqueued (ISO 8601). */
  createdAt: string
  /** When its current (or final) attempt started; null before. */
  startedAt: string | null
  /** When it finished; null before. */
  finishedAt: string | null
}

export interface TaskStreamSettings<S extends TaskState> {
  filter: EventFilter
  /** Reads a task's current state (null: no such task). Needed for a stream with `filter.taskId`. */
  readState?: (taskId: string) => Promise<S | null>
  /** At least 1; default DEFAULT_BUFFER_SIZE. */
  bufferSize?: number
  /** Re-read period of a one-task stream, in ms; default DEFAULT_RECHECK_MS. */
  recheckMs?: number
}

const DONE: IteratorResult<TaskEvent> = { done: true, value: undefined }

/**
 * One stream of task events: the only one, behind `tasks.events()`, `waitFor()` and the Server-Sent
 * Events routes. It listens from the moment it is made and holds at most `bufferSize` events for its
 * consumer; a consumer that falls further behind gets a `lagged` event and a fresh snapshot instead
 * of the events it missed (see LaggedEvent), so a consumer that stops reading costs bounded memory.
 *
 * A one-task stream (`filter.taskId`) starts with the task's current status (and progress), read from
 * the database, then its live changes, and ends after its final status. It re-reads the task when the
 * event bus reconnects and every `recheckMs` while nothing arrives, so a lost notification (PgBouncer
 * in transaction mode, a dropped connection) delays it, never stalls it. A stream of all tasks only
 * relays what it hears.
 *
 * An iterator object, not an async generator, so that `return()` (a `break` out of `for await`)
 * unsubscribes at once, even while a `next()` is waiting for the next event.
 * @example
 * for await (const ev of stream) if (ev.type === 'lagged') console.warn(`missed ${ev.dropped} events`)
 */
export class TaskStream<S extends TaskState = TaskState> implements AsyncIterableIterator<TaskEvent> {
  readonly #filter: EventFilter
  readonly #readState: ((taskId: string) => Promise<S | null>) | undefined
  readonly #recheckMs: number
  readonly #buffer: StreamBuffer
  readonly #offs: Array<() => void>
  /** Events read from the database, handed out before anything buffered. */
  #front: TaskChangeEvent[] = []
  #closed = false
  #ended = false
  #needSnapshot: boolean
  #recheckDue = false
  #wake: (() => void) | null = null
  #turn: Promise<unknown> = Promise.resolve()
  // What the consumer last got about a one-task stream's task, to skip what it already knows.
  #status: TaskStatus | undefined
  #attempt: number | undefined
  #progressAt = ''
  #progressKey = ''
  #final: S | null = null

  /**
   * @internal Made by `tasks.events()` (and waitFor, SSE), over the instance's event bus. Throws a
   * TasklaneError `validation_failed` for a bufferSize below 1 or a recheck interval below 1 ms.
   */
  constructor(source: TaskEventSource, settings: TaskStreamSettings<S>) {
    const bufferSize = settings.bufferSize ?? DEFAULT_BUFFER_SIZE
    if (!Number.isInteger(bufferSize) || bufferSize < 1)
      throw new TasklaneError('validation_failed', `bufferSize must be an integer >= 1 (got ${bufferSize})`, [
        { path: 'bufferSize', message: 'must be an integer >= 1' },
      ])
    this.#filter = settings.filter
    this.#readState = settings.readState
    this.#recheckMs = settings.recheckMs ?? DEFAULT_RECHECK_MS
    // Every 0 ms would be a read loop, not a floor.
    if (!(this.#recheckMs >= 1))
      throw new TasklaneError(
        'validation_failed',
        `recheckInterval must be at least 1 ms (got ${this.#recheckMs})`,
        [{ path: 'recheckInterval', message: 'must be at least 1 ms' }],
      )
    const oneTask = this.#filter.taskId !== undefined
    if (oneTask && !this.#readState) throw new TypeError('a one-task stream needs readState')
    this.#needSnapshot = oneTask
    this.#buffer = new StreamBuffer(bufferSize, { conflate: !oneTask })
    this.#offs = [
      source.onMessage((m) => {
        if (m.type === 'cancel' || this.#closed || !this.#accepts(m)) return
        this.#buffer.push(m)
        this.#wake?.()
      }),
      source.onReconnect(() => {
        if (!oneTask) return
        this.#recheckDue = true
        this.#wake?.()
      }),
    ]
  }

  /** Events held for the consumer now; never more than `bufferSize`. */
  get buffered(): number {
    return this.#buffer.size
  }

  /** Most events it holds for its consumer (TaskStreamOptions.bufferSize, default 1000). */
  get bufferSize(): number {
    return this.#buffer.bound
  }

  /** False once ended or closed: it then holds no listener. */
  get open(): boolean {
    return !this.#closed
  }

  /** The status the consumer last got (one-task streams); undefined before the first. */
  get lastStatus(): TaskStatus | undefined {
    return this.#status
  }

  /**
   * The task's final state, when a one-task stream ended on a read of it (rather than on an event);
   * else null.
   */
  get finalState(): S | null {
    return this.#final
  }

  /**
   * The next event: waits until one arrives; `{ done: true }` once the stream ended (a one-task
   * stream after its final status) or was closed. Its first call on a one-task stream throws a
   * TasklaneError `not_found` for an unknown task. Calls are served one at a time, in order.
   * @example const { value, done } = await stream.next()
   */
  next(): Promise<IteratorResult<TaskEvent>> {
    // One next() at a time, in call order (a for-await never overlaps them; a hand-written caller may).
    const result = this.#turn.then(() => this.#next())
    this.#turn = result.catch(() => {})
    return result
  }

  /**
   * Closes the stream (what `break` out of `for await` calls): it unsubscribes at once, even while a
   * next() waits, and resolves `{ done: true }`.
   * @example await stream.return()
   */
  async return(_value?: unknown): Promise<IteratorResult<TaskEvent>> {
    this.close()
    return DONE
  }

  /**
   * Closes the stream and rejects with `err` (the async iterator protocol's `throw`).
   * @example await stream.throw(new Error('giving up')).catch(() => {})
   */
  async throw(err?: unknown): Promise<IteratorResult<TaskEvent>> {
    this.close()
    throw err
  }

  /** The stream itself, so `for await (const ev of stream)` reads it. */
  [Symbol.asyncIterator](): this {
    return this
  }

  /**
   * Stops listening and drops what it holds; a waiting next() resolves as done. Idempotent.
   * @example const stream = tasks.events(); setTimeout(() => stream.close(), 60_000)
   */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    for (const off of this.#offs) off()
    this.#buffer.clear()
    this.#front = []
    this.#wake?.()
  }

  async #next(): Promise<IteratorResult<TaskEvent>> {
    try {
      for (;;) {
        if (this.#closed) return DONE
        const ready = this.#front.shift()
        if (ready) return this.#deliver(ready)
        if (this.#ended) {
          this.close()
          return DONE
        }
        // (A consumer that lagged before its first read gets `lagged` first, and the snapshot with it.)
        if (this.#needSnapshot && !this.#buffer.lagging) {
          this.#needSnapshot = false
          await this.#snapshot('full')
          continue
        }
        const item = this.#buffer.shift()
        if (item?.type === 'lag') {
          this.#needSnapshot = false
          return this.#deliver(await this.#lagged(item.dropped, item.complete))
        }
        if (item) {
          if (!this.#knows(item)) return this.#deliver(item)
          continue
        }
        if (this.#recheckDue) {
          await this.#snapshot('changes')
          continue
        }
        await this.#idle()
      }
    } catch (err) {
      this.close()
      throw err
    }
  }

  async #lagged(dropped: number, complete: boolean): Promise<LaggedEvent> {
    const { taskId } = this.#filter
    // A one-task stream replaces what it missed with a read of the task (queued as #front).
    const superseded = taskId ? await this.#snapshot('full') : 0
    return {
      type: 'lagged',
      dropped: dropped + superseded,
      complete,
      ...(taskId ? { taskId } : {}),
      at: new Date().toISOString(),
    }
  }

  /**
   * Reads the task and queues what the consumer should learn from it: everything ('full': the first
   * events, or after a lag), or only what changed since ('changes': a re-read). Every event buffered
   * so far was published by a transaction that committed before this read starts, so the read
   * includes it: they are dropped. Returns how many.
   */
  async #snapshot(kind: 'full' | 'changes'): Promise<number> {
    const taskId = this.#filter.taskId!
    const superseded = this.#buffer.clear()
    this.#recheckDue = false
    const state = await this.#readState!(taskId)
    if (this.#closed) return superseded
    if (!state) {
      this.close()
      // A task that vanished mid-stream (retention pruned it) just ends the stream.
      if (kind === 'full' && this.#status === undefined)
        throw new TasklaneError('not_found', `no task with id '${taskId}'`)
      return superseded
    }
    const status = statusOf(state)
    const final = FINAL_STATUSES.has(state.status)
    if (final) this.#final = state
    if (kind === 'full' || !this.#knows(status)) this.#front.push(status)
    const progress = progressOf(state)
    if (progress && !final && (kind === 'full' || !this.#knows(progress))) this.#front.push(progress)
    return superseded
  }

  #deliver(event: TaskEvent): IteratorResult<TaskEvent> {
    if (this.#filter.taskId && event.type === 'status') {
      this.#status = event.status
      this.#attempt = event.attempt
      if (FINAL_STATUSES.has(event.status)) this.#ended = true
    } else if (this.#filter.taskId && event.type === 'progress') {
      this.#progressAt = event.at
      this.#progressKey = `${event.percent}\u0000${event.step}`
    }
    return { done: false, value: event }
  }

  /**
   * True when a one-task stream's consumer already knows this: the status it has (a re-read can
   * report a change before its notification arrives), or progress older than what it has.
   */
  #knows(event: TaskChangeEvent): boolean {
    if (!this.#filter.taskId) return false
    if (event.type === 'status')
      return (
        event.status === this.#status &&
        (event.attempt === undefined || this.#attempt === undefined || event.attempt === this.#attempt)
      )
    // Progress events carry the database's stamp of their write, as the task's progress does.
    return (
      event.at < this.#progressAt ||
      (event.at === this.#progressAt && `${event.percent}\u0000${event.step}` === this.#progressKey)
    )
  }

  #accepts(e: TaskChangeEvent): boolean {
    const f = this.#filter
    return (
      (!f.taskId || e.taskId === f.taskId) &&
      (!f.task || e.task === f.task) &&
      (!f.queue || e.queue === f.queue)
    )
  }

  /** Waits for an event, a reconnect, close(), or (one-task streams) the time to re-read. */
  async #idle(): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    await new Promise<void>((resolve) => {
      this.#wake = resolve
      if (this.#filter.taskId)
        timer = setTimeout(() => {
          this.#recheckDue = true
          resolve()
        }, this.#recheckMs)
    })
    clearTimeout(timer)
    this.#wake = null
  }
}

function statusOf(s: TaskState): StatusEvent {
  const { taskId, task, queue, status } = s
  // When the task entered this status, from its recorded (database-clock) times.
  const at = s.finishedAt ?? s.startedAt ?? s.createdAt
  return { type: 'status', taskId, task, queue, status, attempt: s.attempts, at }
}

function progressOf(s: TaskState): ProgressEvent | null {
  if (!s.progress) return null
  const { taskId, task, queue } = s
  const { percent, step, updatedAt } = s.progress
  return { type: 'progress', taskId, task, queue, percent, step, at: updatedAt }
}
