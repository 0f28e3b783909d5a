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
  /**
   * Ticks that find this many requests unanswered send nothing (counted in `skipped`). Default 20: a
   * server that keeps up has well under one in flight at these rates; one on a starved machine falls
   * behind, and whatever the generator sends beyond this waits in the server's accept queue, each
   * request for (requests ahead of it) / (the server's throughput). With 100 in flight that wait was
   * seen at 15-30 s (database-restart at load ~20: the listening socket's accept queue held 56
   * connections while a cold `serve` took them a few per second), so the 30 s request timeout of
   * `request()` measured the machine instead of detecting a hung server.
   */
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
  maxInFlight = 20,
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
    /**
     * Resolves once `done(answers)` holds, checked after every answer. Fails after `stallMs` without
     * any answer (a hung server, or a generator that cannot send): a stall detector, not a clock on
     * the condition. A loaded machine answers slowly but steadily, and how long the condition takes
     * is the machine's speed (a fixed 60 s deadline on the whole wait failed at load ~20).
     */
    until(done: (answers: LoadAnswer[]) => boolean, stallMs = 60_000): Promise<void> {
      return new Promise((resolve, reject) => {
        let t: NodeJS.Timeout
        const arm = () => {
          clearTimeout(t)
          t = setTimeout(() => {
            waiters.delete(check)
            reject(
              new Error(
                `load: condition not met, and no answer for ${stallMs} ms (${answers.length} answers, ${inFlight.size} in flight)`,
              ),
            )
          }, stallMs)
        }
        const check = () => {
          if (!done(answers)) return arm()
          clearTimeout(t)
          waiters.delete(check)
          resolve()
        }
        waiters.add(check)
        check()
      })
    },
    /** Stops sending and waits for every request in flight to be answered. */
    stop,
  }
}

export type Load = ReturnType<typeof startLoad>
