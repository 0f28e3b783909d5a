import { type Context, context, type Span, SpanKind } from '@opentelemetry/api'
import { fromBossPriority } from '../tasks/priority.ts'
import type { ErrorInfo } from '../worker/error-info.ts'
import { attemptNumber, type LeasedJob } from '../worker/leased-job.ts'
import type { SettledStatus } from '../worker/settler.ts'
import type { TaskAttemptEvent, TasklaneHooks } from './lifecycle-hooks.ts'
import { ATTR } from './semconv.ts'
import { extractContext } from './trace-context.ts'
import { messagingAttributes, recordError, spanName, startSpan, tracingEnabled } from './tracing.ts'

/** How an attempt ended, as seen by the worker (`tasklane.task.outcome`). */
export type AttemptOutcome = 'success' | 'failed' | 'timeout' | 'cancelled' | 'lost' | 'shutdown'

/**
 * Makes the per-attempt observation (run span, settle span, lifecycle events, log ids) for a queue
 * runner. `begin` returns undefined when no SDK is registered and nobody listens to attempt events,
 * so an unobserved attempt allocates nothing for it.
 */
export class AttemptTelemetry {
  readonly #hooks: TasklaneHooks
  readonly #workerId: string

  constructor(hooks: TasklaneHooks, workerId: string) {
    this.#hooks = hooks
    this.#workerId = workerId
  }

  begin(job: LeasedJob, startedAt: Date): AttemptObservation | undefined {
    const tracing = tracingEnabled()
    const hooks = this.#hooks
    if (
      !tracing &&
      !hooks.has('task:start') &&
      !hooks.has('task:progress') &&
      !hooks.has('task:success') &&
      !hooks.has('task:failure') &&
      !hooks.has('task:retry')
    ) {
      return undefined
    }
    return new AttemptObservation(job, startedAt, this.#workerId, hooks, tracing)
  }
}

/** One attempt's telemetry, driven by the queue runner at each step. */
export class AttemptObservation {
  readonly #hooks: TasklaneHooks
  readonly #event: TaskAttemptEvent
  readonly #run: { span: Span; context: Context } | null = null
  #settle: Span | null = null
  #finish: { finishedAt: Date; result?: unknown; error?: ErrorInfo; outcome: AttemptOutcome } | null = null
  /** `trace_id`/`span_id` of the run span, for every log line of the attempt; undefined when not traced. */
  readonly logBindings: { trace_id: string; span_id: string } | undefined

  constructor(job: LeasedJob, startedAt: Date, workerId: string, hooks: TasklaneHooks, tracing: boolean) {
    this.#hooks = hooks
    const dueAt = Math.max(job.createdOn.getTime(), job.startAfter.getTime())
    this.#event = {
      taskId: job.id,
      task: job.task,
      queue: job.queue,
      priority: fromBossPriority(job.priority),
      attempt: attemptNumber(job),
      maxAttempts: job.retryLimit + 1,
      workerId,
      startedAt,
      queueTimeMs: Math.max(0, startedAt.getTime() - dueAt),
    }
    if (tracing) {
      const e = this.#event
      const attributes = messagingAttributes('process', 'process', job.queue)
      attributes[ATTR.messageId] = job.id
      attributes[ATTR.clientId] = workerId
      attributes[ATTR.taskName] = job.task
      attributes[ATTR.priority] = e.priority
      attributes[ATTR.attempt] = e.attempt
      attributes[ATTR.maxAttempts] = e.maxAttempts
      attributes[ATTR.waitMs] = e.queueTimeMs
      // The parent is the enqueue span, from the job, never the worker loop's own context: every
      // attempt of a task is a child of the span that enqueued it (retries are siblings).
      this.#run = startSpan(
        spanName('process', job.queue),
        SpanKind.CONSUMER,
        attributes,
        extractContext(job.traceContext),
        startedAt,
      )
      const ids = this.#run.span.spanContext()
      this.logBindings = { trace_id: ids.traceId, span_id: ids.spanId }
    } else {
      this.logBindings = undefined
    }
    this.#hooks.emit('task:start', this.#event)
  }

  /** Runs the task with the run span active, so the task's own spans and logs nest under it. */
  run<T>(fn: () => T): T {
    return this.#run ? context.with(this.#run.context, fn) : fn()
  }

  progress(percent: number, step: string | undefined): void {
    if (!this.#hooks.has('task:progress')) return
    this.#hooks.emit('task:progress', { ...this.#event, percent, step: step ?? null })
  }

  /** The attempt returned or threw: ends the run span. `err` is what it threw, `error` how it is recorded. */
  finished(
    outcome: AttemptOutcome,
    finishedAt: Date,
    detail: { result?: unknown; err?: unknown; error?: ErrorInfo } = {},
  ): void {
    this.#finish = {
      finishedAt,
      outcome,
      result: detail.result,
      ...(detail.error ? { error: detail.error } : {}),
    }
    const run = this.#run
    if (!run) return
    run.span.setAttribute(ATTR.outcome, outcome)
    if (detail.error) recordError(run.span, detail.err ?? detail.error.message, detail.error.type)
    run.span.end(finishedAt)
  }

  /** The outcome is handed to the settler: a CLIENT `settle {queue}` span, child of the run span. */
  settling(operation: 'complete' | 'fail'): void {
    const run = this.#run
    if (!run) return
    const attributes = messagingAttributes(operation, 'settle', this.#event.queue)
    attributes[ATTR.messageId] = this.#event.taskId
    attributes[ATTR.attempt] = this.#event.attempt
    this.#settle = startSpan(
      spanName(operation, this.#event.queue),
      SpanKind.CLIENT,
      attributes,
      run.context,
    ).span
  }

  /**
   * The outcome is recorded (`status`), or could not be (`err`): ends the settle span, emits the event.
   * `recorded` is the error a completion was recorded with instead (its result could not be stored).
   */
  settled(status: SettledStatus | null, err?: unknown, recorded?: ErrorInfo): void {
    const span = this.#settle
    if (span) {
      if (status) span.setAttribute(ATTR.status, status)
      if (err !== undefined) recordError(span, err)
      else if (recorded) recordError(span, recorded.message, recorded.type)
      span.end()
    }
    const f = this.#finish
    if (!f || !status) return
    if (recorded) {
      f.error = recorded
      f.outcome = 'failed'
    }
    const durationMs = f.finishedAt.getTime() - this.#event.startedAt.getTime()
    if (status === 'completed') {
      if (this.#hooks.has('task:success')) {
        this.#hooks.emit('task:success', {
          ...this.#event,
          finishedAt: f.finishedAt,
          durationMs,
          result: f.result,
        })
      }
      return
    }
    if (status === 'lost' || !f.error) return
    const name = status === 'retrying' ? 'task:retry' : 'task:failure'
    if (!this.#hooks.has(name)) return
    this.#hooks.emit(name, {
      ...this.#event,
      finishedAt: f.finishedAt,
      durationMs,
      error: f.error,
      outcome: f.outcome === 'timeout' ? 'timeout' : 'failed',
    })
  }
}
