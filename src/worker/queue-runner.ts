import type { Kysely } from 'kysely'
import type { Database } from '../db/database.ts'
import { assertJson } from '../enqueue/json-args.ts'
import { NonRetryableError, TaskTimeoutError } from '../errors.ts'
import type { EventPublisher } from '../events/event-publisher.ts'
import type { Logger } from '../logger.ts'
import { ProgressReporter } from '../progress/progress-reporter.ts'
import type { JobStore } from '../queue/job-store.ts'
import type { TaskDefinition } from '../tasks/define-task.ts'
import type { TaskRegistry } from '../tasks/registry.ts'
import type { AttemptObservation, AttemptTelemetry } from '../telemetry/attempt-telemetry.ts'
import type { TraceCarrier } from '../telemetry/trace-context.ts'
import type { AttemptProfiler } from './attempt-profiler.ts'
import { describeError } from './error-info.ts'
import type { AttemptExecutor } from './execute-attempt.ts'
import { byLeaseOrder, JobLease } from './job-lease.ts'
import { attemptNumber, dbTimeOf, fence, type LeasedJob } from './leased-job.ts'
import { assertResultFits } from './outcome-limits.ts'
import { type Prefetch, PrefetchWindow } from './prefetch-window.ts'
import type { Completion, Settler } from './settler.ts'
import { StartMarks } from './start-marks.ts'

export type AbortReason = 'cancel' | 'lost' | 'shutdown'

export interface QueueRunnerDeps {
  queue: string
  concurrency: number
  /**
   * Jobs leased ahead of free slots, so a busy worker leases and settles in batches: a number, or
   * the adaptive default (prefetch-window.ts). Buffered jobs read `queued` until their handlers start.
   */
  prefetch: Prefetch
  store: JobStore
  db: Kysely<Database>
  registry: TaskRegistry
  settler: Settler
  publisher: EventPublisher
  execute: AttemptExecutor
  workerId: string
  /** The owner-lock key to stamp on claims leased now (liveness.ts), or null: not stamped. */
  leaseOwner?: () => number | null
  pollIntervalMs: number
  log: Logger
  /** Backpressure: while false (memory budget exceeded), no new work is leased. */
  canLease?: () => boolean
  /** Called with each finished attempt's wall time (busy-time accounting). */
  onAttemptDone?: (ms: number) => void
  /** Records CPU time and peak memory per attempt in history (enableProfiling). */
  profiler?: AttemptProfiler
  /** Run and settle spans, lifecycle events and log trace ids, for attempts someone observes. */
  telemetry?: AttemptTelemetry
}

interface RunningAttempt {
  job: LeasedJob
  /** Made when the task first reads ctx.signal: most tasks never do, and one costs microseconds. */
  controller: AbortController | null
  /** Why the attempt was interrupted (timeout, cancel, lost claim, shutdown), once it was. */
  abortError: unknown
  /** Rejects the attempt's wait for its handler: set while the handler runs. */
  interrupt: ((err: unknown) => void) | null
  reason: AbortReason | null
  /** The handler returned or threw. */
  finished: boolean
  done: Promise<void>
}

/**
 * The lease → run → settle loop of one queue in one process. Wakes on pg-boss's NOTIFY for the queue
 * (wake()), polls as a fallback, leases in batches (FOR UPDATE SKIP LOCKED, lease.repository.ts),
 * hands jobs to `concurrency` slots in lease order, and hands completions to the group-committing
 * Settler so a slot is free again as soon as its task returns. A task is `running` from when its
 * handler starts: the lease records the start of the jobs that go straight to a slot, StartMarks that
 * of the jobs that waited in the local buffer.
 */
export class QueueRunner {
  readonly #d: QueueRunnerDeps
  #buffer: LeasedJob[] = []
  readonly #running = new Map<string, RunningAttempt>()
  /** Finished attempts whose outcome is not yet committed: their claims still need heartbeats. */
  readonly #settling = new Map<string, LeasedJob>()
  #pumping = false
  #again = false
  #stopping = false
  #started = false
  #pollTimer: NodeJS.Timeout | null = null
  #backoffUntil = 0
  /** False once a lease came back short; set again by every wake-up. */
  #mayHaveWork = true
  readonly #window: PrefetchWindow
  readonly #marks: StartMarks
  readonly #lease: JobLease
  /** performance.now() when the last heartbeat that confirmed every claim held then was sent. */
  #confirmedMono = Number.NEGATIVE_INFINITY

  constructor(deps: QueueRunnerDeps) {
    this.#d = deps
    this.#window = new PrefetchWindow(deps.prefetch, deps.concurrency)
    this.#lease = new JobLease(deps)
    this.#marks = new StartMarks({
      store: deps.store,
      queue: deps.queue,
      log: deps.log,
    })
  }

  get queue(): string {
    return this.#d.queue
  }

  get concurrency(): number {
    return this.#d.concurrency
  }

  get busy(): number {
    return this.#running.size
  }

  start(): void {
    if (this.#started) return
    this.#started = true
    this.#pollTimer = setInterval(() => this.wake(), this.#d.pollIntervalMs)
    this.#pollTimer.unref()
    this.wake()
  }

  /** Something may be ready (a NOTIFY, a poll): lease if there is room. Cheap to call often. */
  wake(): void {
    if (this.#stopping || !this.#started) return
    this.#mayHaveWork = true
    this.#pumpSoon()
  }

  /** A slot or a settle finished: lease only if the last lease did not find the queue empty. */
  #slotFreed(): void {
    if (this.#stopping || !this.#started || !this.#mayHaveWork) return
    this.#pumpSoon()
  }

  /**
   * #pump, or a note for the pump in progress to go round again. Checked here rather than in #pump:
   * an async call costs a promise, and every finished attempt and every settled completion ask
   * (twice per task) while a lease is mostly in flight.
   */
  #pumpSoon(): void {
    if (this.#pumping) this.#again = true
    else void this.#pump()
  }

  /** Claims held by this runner (running, buffered, settling), for heartbeats. */
  claims(): LeasedJob[] {
    return [...[...this.#running.values()].map((r) => r.job), ...this.#buffer, ...this.#settling.values()]
  }

  /**
   * Puts back this queue's claims that died with their process before their handlers started (any
   * process's: see JobStore.recoverUnstarted). The heartbeat calls it on every beat.
   */
  async recoverUnstarted(): Promise<void> {
    const recovered = await this.#d.store.recoverUnstarted([this.queue])
    if (recovered.requeued + recovered.charged > 0) {
      this.#d.log.info(
        { queue: this.queue, ...recovered },
        'claims lost with their process before their handlers started: queued again',
      )
    }
  }

  /**
   * A heartbeat sent at `sentMono` (performance.now()) found every claim held then that was not
   * aborted since: a buffered job may start only while its claim is known to be fresh (#fillSlots).
   */
  claimsConfirmed(sentMono: number): void {
    this.#confirmedMono = Math.max(this.#confirmedMono, sentMono)
  }

  /** Aborts a running attempt (cancelled elsewhere, or its claim was lost). Returns false if not here. */
  abort(taskId: string, reason: AbortReason): boolean {
    const running = this.#running.get(taskId)
    if (running) {
      running.reason ??= reason
      interrupt(running, new Error(`task ${reason === 'cancel' ? 'cancelled' : reason}`))
      return true
    }
    const index = this.#buffer.findIndex((j) => j.id === taskId)
    if (index >= 0) {
      this.#buffer.splice(index, 1)
      return true
    }
    return false
  }

  /**
   * Stops leasing, hands buffered jobs back, lets running attempts finish for up to `timeoutMs`, then
   * aborts the rest and hands them back without spending an attempt. Idempotent.
   */
  async stop(timeoutMs: number): Promise<void> {
    if (this.#stopping) return
    this.#stopping = true
    if (this.#pollTimer) clearInterval(this.#pollTimer)
    while (this.#pumping) await new Promise((r) => setTimeout(r, 5))
    const buffered = this.#buffer.splice(0)
    await this.#handBack(buffered)
    const all = () => Promise.all([...this.#running.values()].map((r) => r.done))
    if (this.#running.size > 0) {
      let timer: NodeJS.Timeout | undefined
      await Promise.race([all(), new Promise((r) => (timer = setTimeout(r, timeoutMs)))])
      clearTimeout(timer)
    }
    if (this.#running.size > 0) {
      this.#d.log.info(
        { queue: this.queue, count: this.#running.size },
        'shutdown: aborting running tasks, handing them back',
      )
      for (const r of this.#running.values()) {
        r.reason ??= 'shutdown'
        interrupt(r, new Error('worker shutting down'))
      }
      await all()
    }
    await this.#marks.stop()
  }

  /** Leases one batch and runs it to completion (tests call this instead of waiting). Returns how many ran. */
  async runOnce(): Promise<number> {
    const jobs = await this.#lease.lease(this.#d.concurrency, this.#d.concurrency)
    await Promise.all(jobs.map((job) => this.#runAttempt(job)))
    await this.#d.settler.drain()
    return jobs.length
  }

  async #pump(): Promise<void> {
    if (this.#pumping) {
      this.#again = true
      return
    }
    this.#pumping = true
    try {
      do {
        this.#again = false
        while (!this.#stopping && performance.now() >= this.#backoffUntil) {
          const room = this.#room()
          if (room <= 0) break
          // The jobs that will go straight to a slot: the lease records their start. (A non-empty
          // buffer means every slot is busy.)
          const free = this.#buffer.length === 0 ? this.#d.concurrency - this.#running.size : 0
          let jobs: LeasedJob[]
          try {
            jobs = await this.#lease.lease(room, Math.max(0, Math.min(room, free)))
          } catch (err) {
            this.#d.log.warn({ err: (err as Error).message, queue: this.queue }, 'lease failed; backing off')
            this.#backoffUntil = performance.now() + 1_000
            break
          }
          if (this.#stopping) {
            await this.#handBack(jobs)
            break
          }
          // A claim leased again while its earlier one waits here unstarted means that one lapsed: only
          // the new claim runs (both carry the same fence, so the store cannot tell them apart).
          if (this.#buffer.length > 0 && jobs.length > 0) {
            const ids = new Set(jobs.map((j) => j.id))
            this.#buffer = this.#buffer.filter((j) => !ids.has(j.id))
          }
          // Slots only ever free up while the lease is in flight, so every job it started has one.
          for (const job of jobs) if (job.started) void this.#runAttempt(job)
          this.#buffer.push(...jobs.filter((j) => !j.started))
          this.#buffer.sort(byLeaseOrder)
          this.#fillSlots()
          if (jobs.length < room) {
            // The queue is empty for now: lease again on the next wake-up (NOTIFY or poll), not after
            // every task that finishes (that would double the lease statements of an idle queue).
            this.#mayHaveWork = false
            break
          }
        }
      } while (this.#again && !this.#stopping)
    } finally {
      this.#pumping = false
    }
  }

  /** How many jobs to lease now (0: none). */
  #room(): number {
    // Outcomes still being committed count against the window beyond one window's worth, so a worker
    // whose settle falls behind stops leasing instead of piling finished tasks up in memory.
    const prefetch = this.#window.size()
    const window = this.#d.concurrency + prefetch
    const settling = Math.max(0, this.#settling.size - window)
    const held = this.#running.size + this.#buffer.length + settling
    if (!(this.#d.canLease?.() ?? true)) {
      // Over the memory budget: nothing more while anything is held; one at a time when idle, so a
      // process whose memory does not fall while idle (nothing allocates, so nothing is collected)
      // still makes progress.
      return held === 0 ? 1 : 0
    }
    const room = window - held
    // Lease in batches: wait until at least half the prefetch window (or a slot) is free.
    if (this.#buffer.length > 0 && room < Math.max(1, prefetch / 2)) return 0
    return room
  }

  #fillSlots(): void {
    while (!this.#stopping && this.#running.size < this.#d.concurrency && this.#buffer.length > 0) {
      const job = this.#buffer.shift()!
      if (this.#mayHaveLapsed(job)) {
        // This process stalled (a blocked event loop) for 2/3 of the heartbeat timeout: the claim may
        // have lapsed and the job been leased elsewhere, with the same retry_count (it never
        // started), so no fence would tell the two claims apart. Let it go: if the claim is still
        // ours it lapses and comes back unspent (recoverUnstartedClaims).
        this.#d.log.warn(
          { taskId: job.id, queue: this.queue },
          'buffered claim may have lapsed; not run here',
        )
        continue
      }
      void this.#runAttempt(job)
    }
  }

  #mayHaveLapsed(job: LeasedJob): boolean {
    if (!job.heartbeatMs) return false
    const confirmed = Math.max(job.leasedMono, this.#confirmedMono)
    return performance.now() - confirmed > (job.heartbeatMs * 2) / 3
  }

  #runAttempt(job: LeasedJob): Promise<void> {
    const entry: RunningAttempt = {
      job,
      controller: null,
      abortError: undefined,
      interrupt: null,
      reason: null,
      finished: false,
      done: Promise.resolve(),
    }
    // The same task leased again while an earlier attempt of it still runs here means that attempt's
    // claim lapsed (pg-boss re-queued it): abort the stale one, and let neither attempt's cleanup
    // remove the other's entry (which would leave the new claim without heartbeats). (A stale copy
    // in the buffer was dropped when the new claim came in: #pump.)
    const stale = this.#running.get(job.id)
    if (stale) {
      stale.reason ??= 'lost'
      interrupt(stale, new Error('task lost'))
    }
    this.#running.set(job.id, entry)
    // then() with the cleanup on both paths rather than finally(): finally() costs two more
    // promises and a closure per task. #attempt records every outcome itself; a throw out of it (its
    // own recording failed) is logged here, never re-thrown: callers start attempts with `void`, so a
    // rejection would be unhandled (and end the process), and stop() awaits every done.
    entry.done = this.#attempt(entry).then(
      () => this.#attemptEnded(entry),
      (err) => {
        this.#attemptEnded(entry)
        this.#d.log.error(
          { err, taskId: job.id, queue: this.queue },
          'attempt bookkeeping failed: its claim comes back by heartbeat or owner lock',
        )
      },
    )
    return entry.done
  }

  #attemptEnded(entry: RunningAttempt): void {
    if (this.#running.get(entry.job.id) === entry) this.#running.delete(entry.job.id)
    this.#fillSlots()
    this.#slotFreed()
  }

  async #attempt(entry: RunningAttempt): Promise<void> {
    const { job } = entry
    const { registry, log: rootLog, publisher, settler } = this.#d
    const task = registry.get(job.task)
    // Instants from the database's clock, durations from the monotonic one (see dbTimeOf).
    const startMono = performance.now()
    const startedAt = dbTimeOf(job, startMono)
    const obs = this.#d.telemetry?.begin(job, startedAt)
    // The child logger and the progress reporter are made on first use: most tasks never log or report
    // progress, and at tens of thousands of tasks a second their construction shows in the profile.
    let childLog: Logger | undefined
    const logger = () =>
      (childLog ??= rootLog.child({
        taskId: job.id,
        task: job.task,
        attempt: attemptNumber(job),
        ...obs?.logBindings,
      }))
    // The `running` event follows the database: at once when the lease recorded the start, else
    // when the start mark does (or when the attempt ends first; its outcome follows).
    let announced = false
    const announceRunning = () => {
      if (announced) return
      announced = true
      publisher.publish({
        type: 'status',
        taskId: job.id,
        task: job.task,
        queue: job.queue,
        status: 'running',
        attempt: attemptNumber(job),
        at: startedAt.toISOString(),
      })
    }
    if (job.started) announceRunning()
    else
      this.#marks.add(job, startedAt, {
        recorded: announceRunning,
        lost: () => {
          if (this.#running.get(job.id) === entry && !entry.finished) this.abort(job.id, 'lost')
        },
      })
    let reporter: ProgressReporter | undefined
    const report = (percent: number, step?: string) => {
      reporter ??= new ProgressReporter(
        this.#d.db,
        { taskId: job.id, task: job.task, queue: job.queue },
        logger(),
        undefined,
        (err) => interrupt(entry, err),
      )
      return reporter.report(percent, step)
    }
    const progress = (percent: number, step?: string) => {
      obs?.progress(percent, step)
      if (job.started) return report(percent, step)
      // A task that reports progress is running for whoever reads it: its start is recorded first.
      return this.#marks.ensure(job).then((recorded) => (recorded ? report(percent, step) : undefined))
    }
    let timer: NodeJS.Timeout | undefined
    const endProfile = this.#d.profiler?.begin()
    try {
      const args = checkArgs(task, job)
      if (task!.timeoutMs !== null) {
        const ms = task!.timeoutMs
        timer = setTimeout(() => interrupt(entry, new TaskTimeoutError(ms)), ms)
      }
      const ctx = {
        taskId: job.id,
        attempt: attemptNumber(job),
        get signal() {
          return signalOf(entry)
        },
        progress,
        get log() {
          return logger()
        },
      }
      const result = await raceInterrupt(
        obs ? obs.run(() => this.#d.execute(task!, args, ctx)) : this.#d.execute(task!, args, ctx),
        entry,
      )
      clearTimeout(timer)
      entry.finished = true
      const runMs = performance.now() - startMono
      const finishedAt = new Date(startedAt.getTime() + Math.round(runMs))
      this.#d.onAttemptDone?.(runMs)
      this.#window.record(runMs)
      await reporter?.close()
      if (entry.reason) {
        await this.#marks.forget(job)
        return obs?.finished(abortOutcome(entry.reason), finishedAt)
      }
      const profile = endProfile?.()
      const value = toJsonResult(result)
      obs?.finished('success', finishedAt, { result: value })
      obs?.settling('complete')
      // The slot is free as soon as the task returns: the outcome is group-committed in the background
      // (its claim stays heartbeated until then; stop() waits for it through settler.drain()).
      this.#settling.set(job.id, job)
      // An attempt that ended before its start was written needs no start mark: the settle records
      // the outcome and the start time. (Waited for only while a mark of it is in flight, so that
      // the two statements never lock the same row at once.)
      announceRunning()
      const unmarked = job.started ? undefined : this.#marks.forget(job)
      this.#handOff(
        {
          job,
          result: value,
          startedAt,
          finishedAt,
          ...profile,
          // A traced attempt's logger carries its trace ids into the settler's lines about it.
          log: obs?.logBindings ? logger() : childLog,
        },
        unmarked,
        obs,
      )
    } catch (err) {
      clearTimeout(timer)
      entry.finished = true
      const runMs = performance.now() - startMono
      const finishedAt = new Date(startedAt.getTime() + Math.round(runMs))
      this.#d.onAttemptDone?.(runMs)
      this.#window.record(runMs)
      await reporter?.close()
      // Aborted: no start mark may land after the claim is handed back (or taken elsewhere).
      if (entry.reason) await this.#marks.forget(job)
      if (entry.reason === 'shutdown') {
        obs?.finished('shutdown', finishedAt)
        await this.#handBack([job])
        return
      }
      // Cancelled or claim lost: the database already says what happened.
      if (entry.reason) return obs?.finished(abortOutcome(entry.reason), finishedAt)
      const error = describeError(err)
      const outcome = err instanceof TaskTimeoutError ? 'timeout' : 'failed'
      obs?.finished(outcome, finishedAt, { err, error })
      logger().warn({ err: error.message, type: error.type }, 'attempt failed')
      obs?.settling('fail')
      this.#settling.set(job.id, job)
      // A failed attempt counts only if its start is recorded (pg-boss spends an attempt on the next
      // claim only then): write it first. False means the claim is gone; the fail is fenced out.
      if (await this.#marks.ensure(job)) announceRunning()
      await settler
        .fail({
          job,
          error,
          outcome,
          startedAt,
          finishedAt,
          deadLetter: task?.queue === job.queue ? task.deadLetter : null,
        })
        .then(obs && ((status) => obs.settled(status)), (e) => {
          obs?.settled(null, e)
          logger().error(
            { err: e },
            'could not record failure; the task will run again after its claim lapses',
          )
        })
        .finally(() => {
          this.#settling.delete(job.id)
          this.#slotFreed()
        })
    }
  }

  /**
   * Hands a completion to the settler and frees its claim once the settle is committed. A method of
   * its own so that what waits for the commit holds the completion alone: closures made in #attempt
   * would keep the whole finished attempt alive (V8 keeps a function's closure context, with every
   * variable any of its closures uses, while one of them lives), its signal, context and helpers
   * included. At thousands of tasks a second a settle outlives young-generation collections, so all
   * of that was promoted and grew the old generation (docs/benchmarks.md, Memory).
   */
  #handOff(
    completion: Completion,
    unmarked: Promise<unknown> | undefined,
    obs: AttemptObservation | undefined,
  ) {
    const { settler } = this.#d
    const { job } = completion
    // The claim is released on both paths inside one then() (finally() would cost two more promises
    // and a closure per task).
    void (unmarked ? unmarked.then(() => settler.complete(completion)) : settler.complete(completion)).then(
      obs
        ? (settled) => {
            try {
              obs.settled(settled.status, undefined, settled.error)
            } finally {
              this.#released(job)
            }
          }
        : () => this.#released(job),
      (err) => {
        try {
          obs?.settled(null, err)
          ;(completion.log ?? this.#attemptLog(job)).error(
            { err },
            'could not record completion; the task will run again after its claim lapses',
          )
        } finally {
          this.#released(job)
        }
      },
    )
  }

  /** A finished attempt's outcome is committed (or given up on): its claim needs no more heartbeats. */
  #released(job: LeasedJob): void {
    this.#settling.delete(job.id)
    this.#slotFreed()
  }

  /** The logger of an attempt's lines (an untraced attempt's: a traced one carries its own). */
  #attemptLog(job: LeasedJob): Logger {
    return this.#d.log.child({ taskId: job.id, task: job.task, attempt: attemptNumber(job) })
  }

  async #handBack(jobs: LeasedJob[]): Promise<void> {
    if (jobs.length === 0) return
    try {
      await this.#d.store.handBack(this.queue, jobs.map(fence))
    } catch (err) {
      // Not fatal: the claims lapse with the heartbeat and the tasks run again (spending an attempt).
      this.#d.log.warn({ err: (err as Error).message, count: jobs.length }, 'hand-back failed')
    }
  }
}

/**
 * Interrupts a running attempt: its wait for the handler rejects with `err` at once, and its signal
 * (if the task has read it) aborts with `err`. The first interruption wins.
 */
function interrupt(entry: RunningAttempt, err: unknown): void {
  if (entry.abortError !== undefined) return
  // As AbortController.abort() names a missing reason.
  entry.abortError = err ?? new DOMException('This operation was aborted', 'AbortError')
  entry.controller?.abort(entry.abortError)
  entry.interrupt?.(entry.abortError)
}

/** The attempt's ctx.signal, made on first read (aborted already if the attempt was interrupted). */
function signalOf(entry: RunningAttempt): AbortSignal {
  if (!entry.controller) {
    entry.controller = new AbortController()
    if (entry.abortError !== undefined) entry.controller.abort(entry.abortError)
  }
  return entry.controller.signal
}

/**
 * Settles with the handler's result, or rejects as soon as the attempt is interrupted, even if the
 * task ignores its signal (its promise is then left to finish on its own). The runner's own hook
 * rather than a listener on an AbortSignal: most attempts never need a signal at all.
 */
function raceInterrupt<T>(work: Promise<T>, entry: RunningAttempt): Promise<T> {
  if (entry.abortError !== undefined) {
    // The task may have aborted its own attempt before this call (a refused ctx.progress in its
    // first synchronous step): its promise still settles, and its rejection is already reported
    // through the interruption, so it must not surface as an unhandled rejection.
    work.catch(() => {})
    return Promise.reject(entry.abortError)
  }
  return new Promise<T>((resolve, reject) => {
    entry.interrupt = reject
    work.then(resolve, reject)
  })
}

function abortOutcome(reason: AbortReason): 'cancelled' | 'lost' | 'shutdown' {
  return reason === 'cancel' ? 'cancelled' : reason
}

/** Args are checked at enqueue and again here: the schema may have changed since (a deploy). */
function checkArgs(task: TaskDefinition<any, any> | undefined, job: LeasedJob): unknown {
  // A job that names no task (inserted by another client of pg-boss's tables, e.g. pg-boss's own
  // send() with other data) can never run: failed at once, saying what tasklane runs.
  if (!job.task) {
    throw new NonRetryableError(
      `job ${job.id} names no task: tasklane runs a job whose data is { task: '<task name>', args } naming a task defined on queue '${job.queue}' (enqueue with addTask, or give pg-boss's send() that data)`,
    )
  }
  // Retried within its budget: another process (another release, during a deploy) may define it.
  if (!task) {
    throw new Error(
      `no task named '${job.task}' is registered in this worker process: check the name the job was sent with, and that the task is defined in createTasklane({ tasks }) of the workers of queue '${job.queue}'`,
    )
  }
  // Never run a task from another queue's job (a copy, or a job written by hand): it would run with
  // that queue's policy, under an id that is not the task's.
  if (task.queue !== job.queue) {
    throw new NonRetryableError(
      `task '${task.name}' runs on queue '${task.queue}', but this job is in queue '${job.queue}': not run`,
    )
  }
  if (!task.schema) return job.args
  const parsed = task.schema.safeParse(job.args)
  if (parsed.success) return parsed.data
  // Paths named as at enqueue (args.to), since args written by SQL (add_task) meet the schema here first.
  const issues = parsed.error.issues.map((i) => `${['args', ...i.path.map(String)].join('.')}: ${i.message}`)
  throw new NonRetryableError(`args do not match the task's schema: ${issues.join('; ')}`)
}

function toJsonResult(result: unknown): unknown {
  if (result === undefined || result === null) return null
  // Judged before any copy: a 300 MB string is refused by its length, not after two more copies.
  assertResultFits(result)
  let value: unknown
  try {
    value = JSON.parse(JSON.stringify(result))
  } catch (err) {
    throw new NonRetryableError(`the task returned a value that is not JSON: ${(err as Error).message}`)
  }
  // A result PostgreSQL refuses (a NUL character, an unpaired surrogate) would fail the settle on
  // every attempt: each attempt re-ran after its claim lapsed and the task ended as "worker lost".
  try {
    assertJson(value, 'result')
  } catch (err) {
    throw new NonRetryableError(`the task returned a value that cannot be stored: ${(err as Error).message}`)
  }
  return value
}
