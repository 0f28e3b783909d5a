import { type HttpAnswer, request } from './fleet.ts'

export interface LoadAnswer extends HttpAnswer {
  /** When the request was sent (Date.now()). */
  at: number
  n: number
}

export interface LoadOptions {
  /** POST target, e.g. http://127.0.0.1:1234/tasks/record */
  url: string
  /** Requests per second, sent on a fixed schedule whatever the answers (open loop). */
  rate: number
  /** Ticks that find this many requests unanswered send nothing (counted in `skipped`). */
  maxInFlight?: number
  body?: (n: number) => unknown
  /** Stop sending after this long (then `finished` resolves once every answer is in). */
  durationMs?: number
}

/**
 * An open-loop HTTP producer: one request every 1/rate s, not waiting for earlier answers, so an
 * outage shows up as failed answers rather than as a producer that quietly slows down. Tests wait on
 * it with until(), which resolves on answers as they arrive (no polling).
 * @example const load = startLoad({ url, rate: 50 }); await load.until((a) => a.filter(ok).length >= 100)
 */
export function startLoad({
  url,
  rate,
  maxInFlight = 100,
  body = (n) => ({ args: { n } }),
  durationMs,
}: LoadOptions) {
  const answers: LoadAnswer[] = []
  const inFlight = new Set<Promise<void>>()
  const waiters = new Set<() => void>()
  let n = 0
  let skipped = 0
  const startedAt = performance.now()
  const send = () => {
    if (inFlight.size >= maxInFlight) {
      skipped++
      return
    }
    const i = n++
    const at = Date.now()
    const p = request(url, { body: body(i) }).then((a) => {
      answers.push({ ...a, at, n: i })
      inFlight.delete(p)
      for (const w of waiters) w()
    })
    inFlight.add(p)
  }
  // Timers fire late on a busy event loop: each tick sends whatever the schedule says is due by now,
  // so the rate holds however often the tick actually runs.
  const timer = setInterval(() => {
    const due = Math.floor(((performance.now() - startedAt) / 1000) * rate)
    while (n + skipped < due) send()
  }, 10)
  const stop = async (): Promise<LoadAnswer[]> => {
    clearInterval(timer)
    await Promise.all(inFlight)
    return answers
  }
  // The load's own length, not a wait: the scenario is "this rate for this long".
  const finished =
    durationMs === undefined
      ? null
      : new Promise<LoadAnswer[]>((resolve) => setTimeout(() => resolve(stop()), durationMs))
  return {
    /** With durationMs: resolves with every answer once the load has run its course. */
    finished,
    answers,
    /** Requests sent so far (each gets exactly one answer, an HTTP status or a network error). */
    get sent() {
      return n
    },
    /**
     * Ticks that sent nothing because `maxInFlight` requests were unanswered: the generator could not
     * keep its schedule. On a busy machine that is the machine, not the system under test: report it,
     * never assert it.
     */
    get skipped() {
      return skipped
    },
    /** Resolves once `done(answers)` holds, checked after every answer. */
    until(done: (answers: LoadAnswer[]) => boolean, timeoutMs = 60_000): Promise<void> {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!done(answers)) return
          clearTimeout(t)
          waiters.delete(check)
          resolve()
        }
        const t = setTimeout(() => {
          waiters.delete(check)
          reject(new Error(`load: condition not met after ${timeoutMs} ms (${answers.length} answers)`))
        }, timeoutMs)
        waiters.add(check)
        check()
      })
    },
    /** Stops sending and waits for every request in flight to be answered. */
    stop,
  }
}

export type Load = ReturnType<typeof startLoad>
