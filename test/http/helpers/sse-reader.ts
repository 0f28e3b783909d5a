/**
 * How long next() waits for a message before failing: a failure detector, not a speed claim (a lease,
 * a NOTIFY and a write can take seconds on a loaded 2-core machine).
 */
const NEXT_TIMEOUT_MS = 30_000

/** One named Server-Sent Events message; `json` is its data parsed (null when not JSON). */
// biome-ignore lint/suspicious/noExplicitAny: tests read events of every shape, each asserting the fields it needs
export type SseEvent = { event: string; data: string; json: any }

/** One Server-Sent Events message, or a comment line (heartbeats). */
export type SseMessage = SseEvent | { comment: string }

/**
 * Reads a text/event-stream response message by message. next() takes a deadline, so a test that
 * expects an event fails fast instead of hanging; close() cancels the body (a client disconnect).
 */
export class SseReader {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>
  readonly #decoder = new TextDecoder()
  #buffer = ''
  #pending: SseMessage[] = []
  done = false

  constructor(res: Response) {
    if (!res.body) throw new Error('response has no body')
    this.#reader = res.body.getReader()
  }

  /** The next message, or null when the stream ended. */
  async next(timeoutMs = NEXT_TIMEOUT_MS): Promise<SseMessage | null> {
    const deadline = Date.now() + timeoutMs
    while (this.#pending.length === 0) {
      if (this.done) return null
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`no SSE message within ${timeoutMs} ms`)
      let timer: NodeJS.Timeout | undefined
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no SSE message within ${timeoutMs} ms`)), left)
      })
      const { done, value } = await Promise.race([this.#reader.read(), timeout]).finally(() =>
        clearTimeout(timer),
      )
      if (done) this.done = true
      else this.#parse(this.#decoder.decode(value, { stream: true }))
    }
    return this.#pending.shift()!
  }

  /** The next message with an event name (skipping comments); null at the end. */
  async nextEvent(timeoutMs = NEXT_TIMEOUT_MS): Promise<SseEvent | null> {
    for (;;) {
      const m = await this.next(timeoutMs)
      if (m === null || 'event' in m) return m
    }
  }

  /** Events until one satisfies `stop` (included), or the stream ends. */
  async until(stop: (e: SseEvent) => boolean, timeoutMs = NEXT_TIMEOUT_MS) {
    const seen: SseEvent[] = []
    for (;;) {
      const e = await this.nextEvent(timeoutMs)
      if (e === null) return seen
      seen.push(e)
      if (stop(e)) return seen
    }
  }

  async close(): Promise<void> {
    await this.#reader.cancel().catch(() => {})
  }

  #parse(chunk: string): void {
    this.#buffer += chunk
    let end = this.#buffer.indexOf('\n\n')
    while (end >= 0) {
      const block = this.#buffer.slice(0, end)
      this.#buffer = this.#buffer.slice(end + 2)
      end = this.#buffer.indexOf('\n\n')
      const lines = block.split('\n')
      if (lines.every((l) => l.startsWith(':'))) {
        for (const l of lines) this.#pending.push({ comment: l.slice(1).trim() })
        continue
      }
      let event = 'message'
      const data: string[] = []
      for (const line of lines) {
        if (line.startsWith('event:')) event = line.slice(6).trim()
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''))
      }
      const text = data.join('\n')
      let json: unknown = null
      try {
        json = JSON.parse(text)
      } catch {}
      this.#pending.push({ event, data: text, json })
    }
  }
}
