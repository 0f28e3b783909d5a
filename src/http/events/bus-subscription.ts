import type { EventBus } from '../../events/event-bus.ts'
import type { TaskEvent } from '../../events/event-types.ts'

/** What a stream receives: a task event, or word that the bus reconnected (events may be missing). */
export type BusItem = TaskEvent | { type: 'reconnect' }

// A client that stops reading must not make the server buffer without bound.
const MAX_BUFFERED = 10_000

/**
 * One stream's subscription to the process's event bus: buffers matching events until the stream
 * takes them, and wakes it for heartbeats. close() removes its listeners at once, even while the
 * stream is waiting, which an async generator's return() cannot do (it waits for the pending next()).
 */
export class BusSubscription {
  readonly #queue: BusItem[] = []
  readonly #offs: Array<() => void>
  #wake: (() => void) | null = null
  #closed = false
  #overflowed = false

  constructor(bus: EventBus, accept: (event: TaskEvent) => boolean) {
    this.#offs = [
      bus.onMessage((m) => {
        if (m.type !== 'cancel' && accept(m)) this.#push(m)
      }),
      bus.onReconnect(() => this.#push({ type: 'reconnect' })),
    ]
  }

  get closed(): boolean {
    return this.#closed
  }

  /** True when the buffer overflowed and the subscription closed itself. */
  get overflowed(): boolean {
    return this.#overflowed
  }

  #push(item: BusItem): void {
    if (this.#closed) return
    if (this.#queue.length >= MAX_BUFFERED) {
      this.#overflowed = true
      this.close()
      return
    }
    this.#queue.push(item)
    this.#wake?.()
  }

  /** The next item; 'idle' when none came within `idleMs`; null once closed. */
  async next(idleMs: number): Promise<BusItem | 'idle' | null> {
    if (this.#closed) return null
    const ready = this.#queue.shift()
    if (ready) return ready
    let timer: NodeJS.Timeout | undefined
    await new Promise<void>((resolve) => {
      this.#wake = resolve
      timer = setTimeout(resolve, idleMs)
    })
    clearTimeout(timer)
    this.#wake = null
    if (this.#closed) return null
    return this.#queue.shift() ?? 'idle'
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    for (const off of this.#offs) off()
    this.#queue.length = 0
    this.#wake?.()
  }
}
