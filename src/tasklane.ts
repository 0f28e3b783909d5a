import type { Kysely } from 'kysely'
import { type Config, loadConfig } from './config.ts'
import type { Database } from './db/database.ts'
import { type Duration, toMs, toTimerMs } from './duration.ts'
import { type CallerDb, callerKysely } from './enqueue/caller-db.ts'
import {
  buildRequest,
  type EnqueueOptions,
  type EnqueueRequest,
  type EnqueueResult,
} from './enqueue/enqueue-request.ts'
import { judgeStarts, writeRequests } from './enqueue/enqueue-writer.ts'
import { TasklaneError } from './errors.ts'
import type { EventBus } from './events/event-bus.ts'
import { type EventFilter, TaskStream, type TaskStreamOptions } from './events/task-stream.ts'
import { waitForTask } from './events/wait-for-task.ts'
import { cancelTask, retryTask } from './inspect/task-control.ts'
import type { TaskInfo } from './inspect/task-info.ts'
import type { ListTasksFilter, TaskPage } from './inspect/task-reader.ts'
import { createLogger, type Logger } from './logger.ts'
import type { PgBoss } from './queue/boss.ts'
import { resolveSettings, type Settings } from './resolve-settings.ts'
import type { Scheduler } from './schedule/scheduler.ts'
import {
  checkCount,
  listSchedules,
  previewSchedule,
  type ScheduleInfo,
  type ScheduleOptions,
  scheduleTask,
  unscheduleTask,
} from './schedule/schedules.ts'
import type { Analytics, StatsDeps, TaskStats } from './stats/stats.service.ts'
import type { TasklaneOptions } from './tasklane-options.ts'
import { type Runtime, type RuntimeContext, startRuntime, stopRuntime } from './tasklane-runtime.ts'
import type { TaskDefinition } from './tasks/define-task.ts'
import { TaskRegistry } from './tasks/registry.ts'
import { traceEnqueue } from './telemetry/enqueue-tracing.ts'
import {
  type TasklaneHookListener,
  type TasklaneHookName,
  TasklaneHooks,
} from './telemetry/lifecycle-hooks.ts'
import { tracingEnabled } from './telemetry/tracing.ts'
import type { QueueRunner } from './worker/queue-runner.ts'
import { listLiveWorkers } from './workers/worker-process.repository.ts'

type State = 'new' | 'starting' | 'started' | 'stopping' | 'stopped'

/** Live parts, present between start() and stop(). */
type Running = Runtime

/**
 * A tasklane instance: the task API, and (unless workers: 0) this process's workers.
 * Made with createTasklane(); one per process.
 */
export class Tasklane {
  readonly registry: TaskRegistry
  readonly config: Readonly<Config>
  readonly log: Logger
  readonly workerId: string
  readonly #settings: Settings
  #state: State = 'new'
  #starting: Promise<void> | null = null
  #stopping: Promise<void> | null = null
  #r: Running | null = null
  #startedAt: Date | null = null
  #startedMono = 0
  #busyMsTotal = 0
  readonly #hooks: TasklaneHooks

  constructor(opts: TasklaneOptions) {
    this.config = opts?.config ?? loadConfig()
    // Every option checked now, like the environment, so a bad one fails here and not at start().
    this.#settings = resolveSettings(opts, this.config)
    this.log = opts.logger ?? createLogger(this.#settings.logLevel)
    this.registry = new TaskRegistry(opts.tasks)
    this.workerId = this.#settings.workerId
    this.#hooks = new TasklaneHooks(this.log)
  }

  /**
   * Listens to a lifecycle event of this instance: `task:enqueued` (in the enqueuing process),
   * `task:start`, `task:progress`, `task:success`, `task:retry`, `task:failure` (in the process running
   * the attempt), `worker:start`, `worker:stop`. Payloads carry `queueTimeMs` and `durationMs` (see
   * docs/observability.md). A listener that throws or rejects is logged and never affects a task.
   * Returns a function that removes the listener.
   * @example tasks.on('task:failure', (e) => alert(`${e.task} failed after ${e.attempt} attempts: ${e.error.message}`))
   */
  on<K extends TasklaneHookName>(event: K, listener: TasklaneHookListener<K>): () => void {
    return this.#hooks.on(event, listener)
  }

  /** Removes a listener added with on(). */
  off<K extends TasklaneHookName>(event: K, listener: TasklaneHookListener<K>): void {
    this.#hooks.off(event, listener)
  }

  get started(): boolean {
    return this.#state === 'started'
  }

  get startedAt(): Date | null {
    return this.#startedAt
  }

  /** tasklane's Kysely (scoped to its schema); also usable for your own transactions on the same database. */
  get db(): Kysely<Database> {
    return this.#live().db.kysely
  }

  get connectionString(): string {
    return this.#live().connectionString
  }

  get bus(): EventBus {
    return this.#live().bus
  }

  /** @internal The queue runners of this process (the HTTP stats routes, heartbeats). */
  get runners(): readonly QueueRunner[] {
    return this.#r?.runners ?? []
  }

  get heartbeatTimeoutMs(): number {
    return this.#settings.heartbeatTimeoutMs
  }

  /** Sum of the wall time of attempts run by this process (worker utilisation). */
  get busyMsTotal(): number {
    return this.#busyMsTotal
  }

  /**
   * Connects (starting the embedded Postgres when no URL is configured), applies pending migrations,
   * creates the queues and starts this process's workers.
   */
  async start(): Promise<void> {
    if (this.#state === 'started') return
    if (this.#state !== 'new') throw new Error(`cannot start a tasklane instance that is ${this.#state}`)
    this.#state = 'starting'
    this.#starting = startRuntime(this.#runtimeContext(), (r) => {
      this.#r = r as Running
    }).then(
      (r) => {
        this.#r = r
        this.#state = 'started'
        this.#startedAt = new Date()
        this.#startedMono = performance.now()
        if (r.runners.length > 0 && this.#hooks.has('worker:start')) {
          const queues = Object.fromEntries(r.runners.map((q) => [q.queue, q.concurrency]))
          this.#hooks.emit('worker:start', { workerId: this.workerId, queues })
        }
      },
      async (err) => {
        await this.#teardown(0).catch(() => {})
        this.#state = 'stopped'
        throw err
      },
    )
    return this.#starting
  }

  #runtimeContext(): RuntimeContext {
    return {
      settings: this.#settings,
      log: this.log,
      registry: this.registry,
      queueNames: () => this.#queueNames(),
      onAttemptDone: (ms) => {
        this.#busyMsTotal += ms
      },
      busyMsTotal: () => this.#busyMsTotal,
      hooks: this.#hooks,
    }
  }

  #queueNames(): string[] {
    const names = new Set(this.registry.queues())
    for (const q of Object.keys(this.#settings.queues)) names.add(q)
    return [...names]
  }

  /**
   * Graceful stop: no new leases, running attempts get up to `timeout` to finish, the rest are
   * aborted and handed back without spending an attempt. Idempotent; safe before start().
   */
  async stop({ timeout }: { timeout?: Duration } = {}): Promise<void> {
    if (this.#state === 'new' || this.#state === 'stopped') {
      this.#state = 'stopped'
      return
    }
    if (this.#stopping) return this.#stopping
    const ms = timeout !== undefined ? toTimerMs(timeout, 'timeout') : this.#settings.shutdownTimeoutMs
    this.#stopping = (async () => {
      await this.#starting?.catch(() => {})
      this.#state = 'stopping'
      await this.#teardown(ms)
      this.#state = 'stopped'
    })()
    return this.#stopping
  }

  async #teardown(timeoutMs: number): Promise<void> {
    if (!this.#r) return
    const hadWorkers = (this.#r.runners?.length ?? 0) > 0
    await stopRuntime(this.#r, timeoutMs)
    if (hadWorkers && this.#hooks.has('worker:stop')) {
      // A duration: the monotonic clock.
      const uptimeMs = this.#startedAt ? Math.round(performance.now() - this.#startedMono) : 0
      this.#hooks.emit('worker:stop', { workerId: this.workerId, uptimeMs })
    }
    this.log.info({ workerId: this.workerId }, 'tasklane stopped')
    this.log.flush?.()
  }

  #live(): Running {
    if (this.#state !== 'started' && this.#state !== 'stopping') {
      throw new Error(`tasklane is ${this.#state}: call await tasks.start() first`)
    }
    return this.#r!
  }

  /**
   * Enqueues one task. With `db` (the caller's transaction: Kysely, a node-postgres client inside BEGIN,
   * any `{ query(text, values) }`, postgres.js, Knex, Prisma, or `fromDrizzle(tx, sql)`; see
   * docs/enqueue.md), the task exists iff that transaction commits, and workers are woken at commit.
   * @example const { taskId } = await tasks.addTask(sendReminder, { userId: 'u1' }, { priority: 'HIGH' })
   */
  async addTask<A>(
    task: TaskDefinition<A, any>,
    args: A,
    opts: EnqueueOptions & { db?: CallerDb } = {},
  ): Promise<EnqueueResult> {
    const def = this.registry.resolve(task)
    const request = buildRequest(def, args, opts)
    const [result] = await this.#write([request], opts.db)
    return result!
  }

  /** Enqueues many tasks of one kind, all or none, in one round trip. */
  async addTasks<A>(
    task: TaskDefinition<A, any>,
    argsList: A[],
    opts: EnqueueOptions & { db?: CallerDb } = {},
  ): Promise<EnqueueResult[]> {
    if (!Array.isArray(argsList)) throw new TypeError('addTasks(task, argsList) takes an array of args')
    const def = this.registry.resolve(task)
    if (opts.idempotencyKey !== undefined && argsList.length > 1) {
      throw new TasklaneError(
        'validation_failed',
        'one idempotencyKey cannot cover several tasks: use addTask per task, each with its own key',
      )
    }
    const requests = argsList.map((args, i) => {
      try {
        return buildRequest(def, args, opts)
      } catch (err) {
        if (err instanceof TasklaneError) {
          throw new TasklaneError(
            err.code,
            `item ${i}: ${err.message}`,
            err.details.map((d) => ({ ...d, path: `items.${i}.${d.path ?? ''}` })),
          )
        }
        throw err
      }
    })
    return this.#write(requests, opts.db)
  }

  /** Writes validated requests (the HTTP API builds them itself, to report per-item errors). */
  async enqueueRequests(requests: EnqueueRequest[]): Promise<EnqueueResult[]> {
    return this.#write(requests, undefined)
  }

  async #write(requests: EnqueueRequest[], callerDb: CallerDb | undefined): Promise<EnqueueResult[]> {
    this.#live()
    if (requests.length === 0) return []
    const results = tracingEnabled()
      ? await traceEnqueue(requests, () => this.#writeRequests(requests, callerDb))
      : await this.#writeRequests(requests, callerDb)
    if (this.#hooks.has('task:enqueued')) {
      for (const e of results) this.#hooks.emit('task:enqueued', { ...e })
    }
    return results
  }

  async #writeRequests(requests: EnqueueRequest[], callerDb: CallerDb | undefined): Promise<EnqueueResult[]> {
    const r = this.#live()
    const deps = { boss: r.boss, heartbeatSeconds: this.#settings.heartbeatSeconds }
    if (callerDb) {
      // The caller's transaction (any client: enqueue/caller-db.ts), scoped to our schema for our tables.
      const trx = callerKysely(callerDb).withSchema(this.#settings.schema) as Kysely<Database>
      return writeRequests(trx, deps, requests)
    }
    if (requests.some((q) => q.idempotencyKey)) {
      return r.db.kysely.transaction().execute((trx) => writeRequests(trx, deps, requests))
    }
    await r.committer.submit(requests)
    // Written already: if the clock cannot be read now, the status keeps its provisional value.
    await judgeStarts(r.db.kysely, requests).catch(() => {})
    return requests.map((q) => ({
      taskId: q.id,
      task: q.task.name,
      queue: q.task.queue,
      priority: q.priority,
      status: q.deferred ? 'scheduled' : 'queued',
      deduplicated: false,
    }))
  }

  /** The task, live or finished, or null when there is no such task. */
  async getTask(taskId: string): Promise<TaskInfo | null> {
    return this.#live().reader.get(taskId)
  }

  /** Live worker processes (heartbeat within the heartbeat timeout), oldest first. */
  async listWorkers() {
    const rows = await listLiveWorkers(this.#live().db.kysely, this.heartbeatTimeoutMs)
    return rows.map((w) => ({
      id: w.id,
      host: w.host,
      pid: w.pid,
      queues: w.queues as Record<string, number>,
      concurrency: w.concurrency,
      busy: w.busy,
      rssMb: Math.round(w.rss_mb * 10) / 10,
      cpuPercent: Math.round(w.cpu_percent * 10) / 10,
      startedAt: new Date(w.started_at).toISOString(),
      heartbeatAt: new Date(w.heartbeat_at).toISOString(),
    }))
  }

  /** Every attempt that failed (and the final one), with timings and errors. */
  async getAttempts(taskId: string) {
    return this.#live().reader.attempts(taskId)
  }

  /**
   * A page of tasks, newest created first (live and finished alike). Pass `nextCursor` back as
   * `cursor`: walking every page lists each task matching the filter throughout exactly once, however
   * tasks change state meanwhile (docs/http.md, `GET /tasks`). Throws validation_failed for a bad
   * limit (1–500) or cursor.
   * @example const { items, nextCursor } = await tasks.listTasks({ status: 'failed', limit: 100 })
   */
  async listTasks(filter: ListTasksFilter = {}): Promise<TaskPage> {
    return this.#live().reader.list(filter)
  }

  /**
   * Resolves with the final TaskInfo once the task completes, fails or is cancelled. Follows the task's
   * event stream (see events()), so it wakes on the final status's notification, and re-reads the task
   * every 2 s as a floor where notifications are lost. Throws TasklaneError `not_found` for an unknown
   * task, `timeout` after `timeout` (default '30s') naming the status it is still in.
   * @example const info = await tasks.waitFor(taskId, { timeout: '1m' }); if (info.status === 'completed') use(info.result)
   */
  async waitFor(taskId: string, { timeout = '30s' }: { timeout?: Duration } = {}): Promise<TaskInfo> {
    const timeoutMs = toMs(timeout, 'timeout')
    const read = this.#stateReader()
    return waitForTask(this.#stream({ taskId }, {}), read, taskId, timeoutMs)
  }

  /** Cancels a queued, scheduled, retrying or running task; returns its TaskInfo. */
  async cancel(taskId: string): Promise<TaskInfo> {
    const r = this.#live()
    await cancelTask(this.#controlDeps(r), taskId)
    return (await r.reader.get(taskId))!
  }

  /** Runs a failed or cancelled task again; returns its TaskInfo. */
  async retry(taskId: string): Promise<TaskInfo> {
    const r = this.#live()
    await retryTask(this.#controlDeps(r), taskId)
    return (await r.reader.get(taskId))!
  }

  /**
   * Runs again every failed task of one name (dead-lettered included), up to `limit`. Returns how many
   * were retried; a task that changed state meanwhile is skipped.
   */
  async retryFailed(
    taskName: string,
    { limit = 1000 }: { limit?: number } = {},
  ): Promise<{ retried: number }> {
    const r = this.#live()
    this.registry.require(taskName)
    let retried = 0
    let seen = 0
    let cursor: string | undefined
    do {
      const page = await r.reader.list({
        status: 'failed',
        task: taskName,
        limit: Math.min(500, limit - seen),
        ...(cursor ? { cursor } : {}),
      })
      for (const t of page.items) {
        seen++
        try {
          await retryTask(this.#controlDeps(r), t.taskId)
          retried++
        } catch (err) {
          if (!(err instanceof TasklaneError) || err.code !== 'state_conflict') throw err
        }
      }
      cursor = page.nextCursor ?? undefined
    } while (cursor && seen < limit)
    return { retried }
  }

  #controlDeps(r: Running) {
    return {
      db: r.db.kysely,
      boss: r.boss,
      bossSchema: this.#settings.bossSchema,
      registry: this.registry,
      publisher: r.publisher,
      heartbeatSeconds: this.#settings.heartbeatSeconds,
      queues: () => this.#queueNames(),
    }
  }

  /**
   * Progress and status events (TaskEvent), from every process, as an async iterator; it listens from
   * this call on. With `taskId` it first yields the task's current status (and progress), then its
   * changes, and ends after its final status (at once for a finished task); it throws TasklaneError
   * `not_found` at the first next() for an unknown task. Filters `task` and `queue` narrow a stream of
   * all tasks. It holds at most `bufferSize` (default 1000) events for a consumer that does not keep
   * up: one that falls further behind gets a `lagged` event, then a fresh snapshot (see LaggedEvent),
   * never unbounded memory. Stop early with `break` (or `return()`): it unsubscribes at once.
   * @example
   * for await (const ev of tasks.events({ taskId })) {
   *   if (ev.type === 'progress') console.log(`${ev.percent}% ${ev.step ?? ''}`)
   *   if (ev.type === 'lagged') console.log(`skipped ${ev.dropped} events; the current state follows`)
   * }
   */
  events(filter: EventFilter = {}, options: TaskStreamOptions = {}): TaskStream<TaskInfo> {
    return this.#stream(filter, options)
  }

  #stream(filter: EventFilter, { bufferSize, recheckInterval }: TaskStreamOptions): TaskStream<TaskInfo> {
    return new TaskStream<TaskInfo>(this.#live().bus, {
      filter,
      readState: this.#stateReader(),
      ...(bufferSize !== undefined ? { bufferSize } : {}),
      ...(recheckInterval !== undefined ? { recheckMs: toTimerMs(recheckInterval, 'recheckInterval') } : {}),
    })
  }

  /** A task's state as streams read it (no queue position: a stream re-reads often). */
  #stateReader(): (taskId: string) => Promise<TaskInfo | null> {
    const reader = this.#live().reader
    return (taskId) => reader.get(taskId, { withPosition: false })
  }

  /** Leases and runs one batch on each queue (tests use it instead of waiting on the loop). */
  async runOnce(): Promise<number> {
    let n = 0
    for (const runner of this.#live().runners) n += await runner.runOnce()
    return n
  }

  /**
   * Statistics over the whole cluster: queue sizes, live worker processes, rates and percentiles over
   * the sliding window. Every field is defined in docs/stats.md.
   */
  async getTaskStats(): Promise<TaskStats> {
    const { computeTaskStats } = await import('./stats/stats.service.ts')
    return computeTaskStats(this.#statsDeps())
  }

  /** Per task name and time bucket: counts, throughput, wait/run percentiles, error rate. */
  async getAnalytics(opts: { window?: Duration; bucket?: Duration; task?: string } = {}): Promise<Analytics> {
    const { computeAnalytics } = await import('./stats/stats.service.ts')
    return computeAnalytics(this.#statsDeps(), {
      windowMs: toMs(opts.window ?? '24h', 'window'),
      bucketMs: toMs(opts.bucket ?? '1h', 'bucket'),
      ...(opts.task ? { task: opts.task } : {}),
    })
  }

  #statsDeps(): StatsDeps {
    const r = this.#live()
    return {
      db: r.db.kysely,
      bossSchema: this.#settings.bossSchema,
      queues: this.#queueNames(),
      windowMs: this.#settings.statsWindowMs,
      heartbeatTimeoutMs: this.heartbeatTimeoutMs,
      startedAt: this.#startedAt ?? new Date(),
    }
  }

  /**
   * Runs `task` on a cron schedule (5 fields, or 6 with one second of the minute first) read in `tz`
   * (default UTC).
   * Each slot runs once across all replicas, with the task definition deployed when it fires (its
   * priority, retry policy, timeout), exactly like addTask. Across daylight-saving changes: a local
   * time in the skipped hour runs once at the first instant after the jump; a repeated local time
   * runs once; a schedule whose hour field is `*` keeps running every real hour (docs/operations.md).
   * `key` names the schedule (default: the task name), so one task can have several; calling again
   * with the same key replaces it. Throws validation_failed naming the part that is wrong (task,
   * cron or cron.<field>, args.<field>, tz, key).
   * @example await tasks.schedule('nightly-report', '0 3 * * *', {}, { tz: 'Europe/Paris' })
   */
  async schedule(
    taskName: string,
    cron: string,
    args: unknown = {},
    opts: ScheduleOptions = {},
  ): Promise<void> {
    return scheduleTask(this.#scheduleDeps(), taskName, cron, args, opts)
  }

  /** Removes a schedule made with schedule(). Resolves whether there was one. */
  async unschedule(taskName: string, opts: { key?: string } = {}): Promise<boolean> {
    return unscheduleTask(this.#scheduleDeps(), taskName, opts.key)
  }

  /** Every schedule, each with its next `count` (default 5) run instants, as ISO strings. */
  async listSchedules({ count = 5 }: { count?: number } = {}): Promise<ScheduleInfo[]> {
    return listSchedules(this.#scheduleDeps(), checkCount(count))
  }

  /**
   * The next `count` (default 5, at most 1000) instants a cron expression runs in `tz` after `from`
   * (default now), computed as schedules fire: the preview is what fires.
   * @example await tasks.previewSchedule('30 2 * * *', { tz: 'Europe/Berlin', from: '2026-03-28T00:00:00Z', count: 2 })
   * // ['2026-03-28T01:30:00.000Z', '2026-03-29T01:00:00.000Z']
   */
  async previewSchedule(
    cron: string,
    opts: { tz?: string; count?: number; from?: Date | string } = {},
  ): Promise<string[]> {
    return previewSchedule(this.#scheduleDeps(), cron, opts)
  }

  #scheduleDeps() {
    return { db: this.#live().db.kysely, registry: this.registry }
  }

  /** @internal The scheduler of this process (present when it supervises), for tests and tools. */
  get scheduler(): Scheduler | null {
    return this.#live().scheduler
  }

  /**
   * @internal pg-boss, for tools and tests that need it directly. Left out of the published
   * declarations, which name no pg-boss type: pg-boss's own .d.ts fail skipLibCheck: false.
   */
  get boss(): PgBoss {
    return this.#live().boss
  }
}

/**
 * Creates a tasklane instance.
 * @example
 * const tasks = createTasklane({ tasks: [sendReminder], workers: 4 })
 * await tasks.start()
 */
export function createTasklane(opts: TasklaneOptions): Tasklane {
  return new Tasklane(opts)
}
