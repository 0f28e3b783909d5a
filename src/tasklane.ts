import { type Config, loadConfig } from './config.ts'
import { type Duration, toTimerMs } from './duration.ts'
import { registerEngine } from './engine-registry.ts'
import type { CallerDb } from './enqueue/caller-db.ts'
import type { EnqueueOptions, EnqueueResult } from './enqueue/enqueue-request.ts'
import type { EventFilter, TaskStream, TaskStreamOptions } from './events/task-stream.ts'
import type { TaskAttempt, TaskInfo } from './inspect/task-info.ts'
import type { ListTasksFilter, TaskPage } from './inspect/task-reader.ts'
import type { ScheduleInfo, ScheduleOptions } from './schedule/schedules.ts'
import type { Analytics, TaskStats } from './stats/stats.service.ts'
import { TasklaneEngine } from './tasklane-engine.ts'
import type { TasklaneOptions } from './tasklane-options.ts'
import type { TaskDefinition } from './tasks/define-task.ts'
import type { TasklaneHookListener, TasklaneHookName } from './telemetry/lifecycle-hooks.ts'
import type { WorkerInfo } from './workers/worker-info.ts'

/** What `tasks.retryFailed()` resolves with. */
export interface RetryFailedResult {
  /** How many failed tasks were queued to run again. */
  retried: number
}

/**
 * A tasklane instance: the task API, and (unless workers: 0) this process's workers.
 * Made with createTasklane(); one per process. Every method delegates to the engine behind it
 * (tasklane-engine.ts); what is not here is not API.
 *
 * The methods that read or write tasks need a started instance: before start() resolves, and after
 * stop(), they throw an Error saying to call `await tasks.start()`. Errors a caller can act on are
 * TasklaneErrors with a stable `code` (each method lists its own); a database that cannot be reached
 * surfaces as the driver's error.
 * @example
 * const tasks = createTasklane({ tasks: [sendReminder] })
 * await tasks.start()
 * const { taskId } = await tasks.addTask(sendReminder, { userId: 'u1' })
 * const info = await tasks.waitFor(taskId)
 * await tasks.stop()
 */
export class Tasklane {
  readonly #e: TasklaneEngine

  /** Same as createTasklane(opts), which is the documented way to make one. */
  constructor(opts: TasklaneOptions) {
    this.#e = new TasklaneEngine(opts, opts?.config ?? loadConfig())
    registerEngine(this, this.#e)
  }

  /**
   * The configuration this instance was given (or read from the environment), before its options
   * apply: for instance `config.schema`, the schema of the SQL views of docs/sql.md.
   * @example sql.table(`${tasks.config.schema}.task_history_v`)
   */
  get config(): Readonly<Config> {
    return this.#e.config
  }

  /** The name this process registers under in the workers table (`listWorkers()` ids, hook payloads). */
  get workerId(): string {
    return this.#e.settings.workerId
  }

  /**
   * Listens to a lifecycle event of this instance: `task:enqueued` (in the enqueuing process),
   * `task:start`, `task:progress`, `task:success`, `task:retry`, `task:failure` (in the process running
   * the attempt), `worker:start`, `worker:stop`. Payloads carry `queueTimeMs` and `durationMs` (see
   * docs/observability.md). A listener that throws or rejects is logged and never affects a task.
   * Returns a function that removes the listener. Throws a TypeError for an unknown event name
   * (listing the valid ones) or a listener that is not a function. Works before start().
   * @example
   * const off = tasks.on('task:failure', (e) => alert(`${e.task} failed after ${e.attempt} attempts`))
   * off() // removes it
   */
  on<K extends TasklaneHookName>(event: K, listener: TasklaneHookListener<K>): () => void {
    return this.#e.hooks.on(event, listener)
  }

  /**
   * Removes a listener added with on() (the same function); does nothing if it is not listening.
   * @example tasks.off('task:failure', onFailure)
   */
  off<K extends TasklaneHookName>(event: K, listener: TasklaneHookListener<K>): void {
    this.#e.hooks.off(event, listener)
  }

  /** Whether start() has finished and stop() has not begun. */
  get started(): boolean {
    return this.#e.started
  }

  /** When start() finished; null before. */
  get startedAt(): Date | null {
    return this.#e.startedAt
  }

  /**
   * Connects (starting the embedded Postgres when no URL is configured), applies pending migrations
   * (unless `migrate: false`), creates the queues and starts this process's workers (unless `workers:
   * 0`), its maintenance and scheduler (unless `supervise: false`). Resolves at once when already
   * started; throws when called while starting or stopping, or after stop() (make a new instance), and
   * rejects with the cause when the database cannot be reached or migrated (the instance is then
   * stopped).
   * @example
   * const tasks = createTasklane({ tasks: [sendReminder] })
   * await tasks.start()
   */
  async start(): Promise<void> {
    return this.#e.start()
  }

  /**
   * Graceful stop: no new leases, running attempts get up to `timeout` (default TASKLANE_SHUTDOWN_TIMEOUT,
   * 30s; at most 2147483647 ms) to finish, the rest are aborted (`ctx.signal`) and handed back without
   * spending an attempt; then connections close. Idempotent (a second call resolves with the first);
   * safe before start(). A `timeout` that is not a duration throws a TypeError.
   * @example process.once('SIGTERM', () => void tasks.stop({ timeout: '20s' }))
   */
  async stop({ timeout }: { timeout?: Duration } = {}): Promise<void> {
    return this.#e.stop(timeout === undefined ? undefined : toTimerMs(timeout, 'timeout'))
  }

  /**
   * Enqueues one task. With `db` (the caller's transaction: Kysely, a node-postgres client inside BEGIN,
   * any `{ query(text, values) }`, postgres.js, Knex, Prisma, or `fromDrizzle(tx, sql)`; see
   * docs/enqueue.md), the task exists iff that transaction commits, and workers are woken at commit;
   * without it the task is committed when this resolves. Options: EnqueueOptions.
   *
   * Throws before anything is written: a TypeError for a `task` not made with defineTask (a closure
   * cannot be persisted) or a `db` that is not one transaction; TasklaneError `unknown_task` for a task
   * not registered in createTasklane({ tasks }); `validation_failed` naming the field for invalid args
   * (not JSON, or refused by the task's schema: `args.<field>`) or options. An idempotency key reused
   * with a different request throws `idempotency_conflict`.
   * @example const { taskId } = await tasks.addTask(sendReminder, { userId: 'u1' }, { priority: 'HIGH' })
   */
  async addTask<A>(
    task: TaskDefinition<A, unknown>,
    args: A,
    opts: EnqueueOptions & { db?: CallerDb } = {},
  ): Promise<EnqueueResult> {
    return this.#e.services.enqueue.addTask(task, args, opts)
  }

  /**
   * Enqueues many tasks of one kind, all or none, in one round trip; resolves with one EnqueueResult
   * per args, in order (and the tasks of one call run in that order among equal priorities). Takes
   * the options and throws the errors of addTask, each `validation_failed` detail naming the item
   * (`items.3.args.userId`); a TypeError when `argsList` is not an array, and `validation_failed`
   * for an `idempotencyKey` with more than one item (use addTask per task, each with its own key).
   * @example await tasks.addTasks(sendReminder, [{ userId: 'u1' }, { userId: 'u2' }], { db: trx })
   */
  async addTasks<A>(
    task: TaskDefinition<A, unknown>,
    argsList: A[],
    opts: EnqueueOptions & { db?: CallerDb } = {},
  ): Promise<EnqueueResult[]> {
    return this.#e.services.enqueue.addTasks(task, argsList, opts)
  }

  /**
   * The task, live or finished, or null when there is no such task (or `taskId` is not a UUID). A
   * queued task comes with its `position` and `eta`.
   * @example const info = await tasks.getTask(taskId); if (info?.status === 'failed') console.log(info.error)
   */
  async getTask(taskId: string): Promise<TaskInfo | null> {
    return this.#e.services.reader.get(taskId)
  }

  /**
   * Live worker processes of the whole cluster (heartbeat within the heartbeat timeout), oldest first.
   * @example for (const w of await tasks.listWorkers()) console.log(w.id, `${w.busy}/${w.concurrency}`)
   */
  async listWorkers(): Promise<WorkerInfo[]> {
    return this.#e.services.workers.list()
  }

  /**
   * The task's recorded attempts, first first: each attempt that failed, timed out or was lost with its
   * worker (a completed attempt is the task's own record). Empty for a task that has none, and for an
   * unknown id.
   * @example for (const a of await tasks.getAttempts(taskId)) console.log(a.attempt, a.outcome, a.error)
   */
  async getAttempts(taskId: string): Promise<TaskAttempt[]> {
    return this.#e.services.reader.attempts(taskId)
  }

  /**
   * A page of tasks, newest created first (live and finished alike). Pass `nextCursor` back as
   * `cursor`: walking every page lists each task matching the filter throughout exactly once, however
   * tasks change state meanwhile (docs/http.md, `GET /tasks`). Throws TasklaneError
   * `validation_failed` for a bad limit (1–500), deadLettered or cursor.
   * @example const { items, nextCursor } = await tasks.listTasks({ status: 'failed', limit: 100 })
   */
  async listTasks(filter: ListTasksFilter = {}): Promise<TaskPage> {
    return this.#e.services.reader.list(filter)
  }

  /**
   * Resolves with the final TaskInfo once the task completes, fails or is cancelled. Follows the task's
   * event stream (see events()), so it wakes on the final status's notification, and re-reads the task
   * every 2 s as a floor where notifications are lost. Throws TasklaneError `not_found` for an unknown
   * task, `timeout` after `timeout` (default '30s') naming the status it is still in.
   * @example const info = await tasks.waitFor(taskId, { timeout: '1m' }); if (info.status === 'completed') use(info.result)
   */
  async waitFor(taskId: string, opts: { timeout?: Duration } = {}): Promise<TaskInfo> {
    return this.#e.services.events.waitFor(taskId, opts)
  }

  /**
   * Cancels a queued, scheduled, retrying or running task and resolves with its TaskInfo (`status:
   * 'cancelled'`): a waiting task never runs; a running one's `ctx.signal` aborts, in whichever process
   * runs it. Throws TasklaneError `not_found` for an unknown task, `state_conflict` for one already
   * completed, failed or cancelled.
   * @example await tasks.cancel(taskId)
   */
  async cancel(taskId: string): Promise<TaskInfo> {
    return this.#e.services.control.cancel(taskId)
  }

  /**
   * Runs a failed or cancelled task again, under the same id, queue and policy (its previous outcome
   * leaves history), and resolves with its TaskInfo (`status: 'queued'`). Throws TasklaneError
   * `not_found` for an unknown task, `state_conflict` for one that is not failed or cancelled.
   * @example const info = await tasks.retry(taskId) // info.status === 'queued'
   */
  async retry(taskId: string): Promise<TaskInfo> {
    return this.#e.services.control.retry(taskId)
  }

  /**
   * Runs again every failed task of one name (dead-lettered included), up to `limit` (default 1000),
   * as retry() does each. Resolves with how many were retried; a task that changed state meanwhile is
   * skipped. Throws TasklaneError `unknown_task` for a name no registered task has.
   * @example const { retried } = await tasks.retryFailed('send-reminder', { limit: 100 })
   */
  async retryFailed(taskName: string, opts: { limit?: number } = {}): Promise<RetryFailedResult> {
    return this.#e.services.control.retryFailed(taskName, opts)
  }

  /**
   * Progress and status events (TaskEvent), from every process, as an async iterator; it listens from
   * this call on. With `taskId` it first yields the task's current status (and progress), then its
   * changes, and ends after its final status (at once for a finished task); it throws TasklaneError
   * `not_found` at the first next() for an unknown task. Filters `task` and `queue` narrow a stream of
   * all tasks. It holds at most `bufferSize` (default 1000) events for a consumer that does not keep
   * up: one that falls further behind gets a `lagged` event, then a fresh snapshot (see LaggedEvent),
   * never unbounded memory. Stop early with `break` (or `return()`): it unsubscribes at once. Options:
   * `bufferSize` (an integer >= 1) and `recheckInterval` (see TaskStreamOptions); an invalid one
   * throws (TasklaneError `validation_failed`, or a TypeError for a value that is not a duration).
   * @example
   * for await (const ev of tasks.events({ taskId })) {
   *   if (ev.type === 'progress') console.log(`${ev.percent}% ${ev.step ?? ''}`)
   *   if (ev.type === 'lagged') console.log(`skipped ${ev.dropped} events; the current state follows`)
   * }
   */
  events(filter: EventFilter = {}, options: TaskStreamOptions = {}): TaskStream<TaskInfo> {
    return this.#e.services.events.stream(filter, options)
  }

  /**
   * Leases and runs one batch on each queue of this process, and resolves with how many tasks ran:
   * tests call it instead of waiting on the loop.
   * @example await tasks.addTask(sendReminder, { userId: 'u1' }); await tasks.runOnce() // 1
   */
  async runOnce(): Promise<number> {
    return this.#e.runOnce()
  }

  /**
   * Statistics over the whole cluster: queue sizes, live worker processes, rates and percentiles over
   * the sliding window (TASKLANE_STATS_WINDOW, 5 minutes). Every field is defined in docs/stats.md;
   * every process answers the same.
   * @example const { totalQueued, errorRate, p95ExecutionTimeMs } = await tasks.getTaskStats()
   */
  async getTaskStats(): Promise<TaskStats> {
    return this.#e.services.stats.taskStats()
  }

  /**
   * Per task name and time bucket: counts, throughput, wait/run percentiles, error rate (docs/stats.md,
   * "Analytics"). `window` (default '24h', up to 36500d) ends now; `bucket` (default '1h') is from 1s up
   * to the window, at most 2000 buckets; `task` keeps one task name. Throws TasklaneError
   * `validation_failed` naming `window` or `bucket` out of those bounds, a TypeError for a value that
   * is not a duration.
   * @example const { rows } = await tasks.getAnalytics({ window: '7d', bucket: '1d', task: 'send-reminder' })
   */
  async getAnalytics(opts: { window?: Duration; bucket?: Duration; task?: string } = {}): Promise<Analytics> {
    return this.#e.services.stats.analytics(opts)
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
    return this.#e.services.schedules.schedule(taskName, cron, args, opts)
  }

  /**
   * Removes the schedule (task, `key`; the key defaults to the task name) made with schedule().
   * Resolves whether there was one.
   * @example await tasks.unschedule('nightly-report', { key: 'eu' })
   */
  async unschedule(taskName: string, opts: { key?: string } = {}): Promise<boolean> {
    return this.#e.services.schedules.unschedule(taskName, opts)
  }

  /**
   * Every schedule, each with its next `count` (default 5, 1 to 1000) run instants, as ISO strings.
   * Throws TasklaneError `validation_failed` naming `count` out of bounds.
   * @example for (const s of await tasks.listSchedules({ count: 1 })) console.log(s.key, s.nextRuns[0])
   */
  async listSchedules(opts: { count?: number } = {}): Promise<ScheduleInfo[]> {
    return this.#e.services.schedules.list(opts)
  }

  /**
   * The next `count` (default 5, at most 1000) instants a cron expression runs in `tz` after `from`
   * (default now, an instant like addTask's startAfter), computed as schedules fire: the preview is
   * what fires. Throws TasklaneError `validation_failed` naming `cron` (or `cron.<field>`), `tz`,
   * `count` or `from`.
   * @example await tasks.previewSchedule('30 2 * * *', { tz: 'Europe/Berlin', from: '2026-03-28T00:00:00Z', count: 2 })
   * // ['2026-03-28T01:30:00.000Z', '2026-03-29T01:00:00.000Z']
   */
  async previewSchedule(
    cron: string,
    opts: { tz?: string; count?: number; from?: Date | string } = {},
  ): Promise<string[]> {
    return this.#e.services.schedules.preview(cron, opts)
  }
}

/**
 * Creates a tasklane instance. Checks every option now (see TasklaneOptions): a bad one throws a
 * ConfigError naming it, before anything connects.
 * @example
 * const tasks = createTasklane({ tasks: [sendReminder], workers: 4 })
 * await tasks.start()
 */
export function createTasklane(opts: TasklaneOptions): Tasklane {
  return new Tasklane(opts)
}
