import type { Kysely } from 'kysely'
import type { Database } from '../db/database.ts'
import { unstorableText } from '../enqueue/json-args.ts'
import { notifyEvents } from '../events/notify.repository.ts'
import type { Logger } from '../logger.ts'
import { isRefused, MAX_STEP_CHARS, OutcomeNotStoredError } from '../worker/outcome-limits.ts'
import { saveProgress } from './progress.repository.ts'

export interface ProgressTarget {
  taskId: string
  task: string
  queue: string
}

/**
 * ctx.progress for one attempt. However often a task reports, the latest value is written at most
 * once per `intervalMs` (leading and trailing edge), each write with its NOTIFY, so a task calling
 * progress 10,000 times a second costs a few writes a second.
 */
export class ProgressReporter {
  readonly #db: Kysely<Database>
  readonly #target: ProgressTarget
  readonly #intervalMs: number
  readonly #log: Logger
  #latest: { percent: number; step: string | null } | null = null
  #lastWriteAt = Number.NEGATIVE_INFINITY
  #timer: NodeJS.Timeout | null = null
  #writing: Promise<void> | null = null
  #closed = false
  writes = 0

  /** Called when a progress report cannot be stored: the runner fails the attempt with `err`. */
  readonly #onRefused: (err: OutcomeNotStoredError) => void

  constructor(
    db: Kysely<Database>,
    target: ProgressTarget,
    log: Logger,
    intervalMs = 250,
    onRefused: (err: OutcomeNotStoredError) => void = () => {},
  ) {
    this.#onRefused = onRefused
    this.#db = db
    this.#target = target
    this.#log = log
    this.#intervalMs = intervalMs
  }

  report = async (percent: number, step?: string): Promise<void> => {
    if (typeof percent !== 'number' || !Number.isFinite(percent)) {
      throw new TypeError(`ctx.progress(percent) takes a number from 0 to 100 (got ${String(percent)})`)
    }
    const why =
      step === undefined || step === null
        ? null
        : typeof step !== 'string'
          ? `is a ${typeof step}, not a string`
          : step.length > MAX_STEP_CHARS
            ? `is ${step.length} characters long; at most ${MAX_STEP_CHARS} are stored`
            : unstorableText(step)
    if (why) {
      // A progress report that cannot be stored fails the attempt at once (not only this call, which
      // the task might catch), with the reason recorded.
      const err = new OutcomeNotStoredError(`ctx.progress step ${why}`)
      this.#onRefused(err)
      throw err
    }
    if (this.#closed) return
    this.#latest = { percent: Math.min(100, Math.max(0, percent)), step: step ?? null }
    // Throttling measures durations: the monotonic clock, which no clock adjustment moves.
    const wait = this.#lastWriteAt + this.#intervalMs - performance.now()
    if (wait <= 0 && !this.#writing) {
      await this.#write()
    } else if (!this.#timer) {
      this.#timer = setTimeout(
        () => {
          this.#timer = null
          void this.#write()
        },
        Math.max(wait, 10),
      )
    }
  }

  /** Writes the last reported value if it has not been written yet; no writes after this. */
  async close(): Promise<void> {
    if (this.#timer) {
      clearTimeout(this.#timer)
      this.#timer = null
      await this.#write()
    }
    await this.#writing
    this.#closed = true
  }

  async #write(): Promise<void> {
    if (this.#writing) {
      await this.#writing
    }
    const latest = this.#latest
    if (!latest) return
    this.#latest = null
    this.#lastWriteAt = performance.now()
    const { taskId, task, queue } = this.#target
    this.#writing = this.#db
      .transaction()
      .execute(async (trx) => {
        // Stamped with the database's clock; the event carries the same instant.
        const at = await saveProgress(trx, taskId, latest.percent, latest.step)
        await notifyEvents(trx, [
          {
            type: 'progress',
            taskId,
            task,
            queue,
            percent: latest.percent,
            step: latest.step,
            at: at.toISOString(),
          },
        ])
      })
      .then(() => {
        this.writes++
      })
      .catch((err) => {
        this.#log.warn({ err: (err as Error).message, taskId }, 'progress write failed')
        if (isRefused(err)) {
          this.#onRefused(
            new OutcomeNotStoredError(`ctx.progress could not be stored: ${(err as Error).message}`),
          )
        }
      })
      .finally(() => {
        this.#writing = null
      })
    await this.#writing
  }
}
