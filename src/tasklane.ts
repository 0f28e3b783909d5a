import { type Config, loadConfig } from './config.ts'
import { type Duration, toTimerMs } from './duration.ts'
import type { CallerDb } from './enqueue/caller-db.ts'
import type { EnqueueOptions, EnqueueResult } from './enqueue/enqueue-request.ts'
import type { EventFilter, TaskStream, TaskStreamOptions } from './events/task-stream.ts'
import type { TaskAttempt, TaskInfo } from './inspect/task-info.ts'
import type { ListTasksFilter, TaskPage } from './inspect/task-reader.ts'
import { registerEngine } from './internal.ts'
import type { ScheduleInfo, ScheduleOptions } from './schedule/schedules.ts'
import type { Analytics, TaskStats } from './stats/stats.service.ts'
import { TasklaneEngine } from './tasklane-engine.ts'
import type { TasklaneOptions } from './tasklane-options.ts'
import type { TaskDefinition } from './tasks/define-task.ts'
import type { TasklaneHookListener, TasklaneHookName } from './telemetry/lifecycle-hooks.ts'
import type { WorkerInfo } from './workers/worker-info.ts'

/**
 * A tasklane instance: the task API, and (unless workers: 0) this process's workers.
 * Made with createTasklane(); one per process. Every method delegates to the engine behind it
 * (tasklane-engine.ts); what is not here is not API.
 */
export class Tasklane {
  readonly #e: TasklaneEngine

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
   * Returns a function that removes the listener.
   * @example tasks.on('task:failure', (e) => alert(`${e.task} failed after ${e.attempt} attempts: ${e.error.message}`))
   */
  on<K extends TasklaneHookName>(event: K, listener: TasklaneHookListener<K>): () => void {
    return this.#e.hooks.on(event, listener)
  }

  /** Removes a listener added with on(). */
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
   * Connects (starting the embedded Postgres when no URL is configured), applies pending migrations,
   * creates the queues and starts this process's workers.
   */
  async start(): Promise<void> {
    return this.#e.start()
  }

  /**
   * Graceful stop: no new leases, running attempts get up to `timeout` (default TASKLANE_SHUTDOWN_TIMEOUT,
   * 30s) to finish, the rest are aborted and handed back without spending an attempt. Idempotent; safe
   * before start().
   */
  async stop({ timeout }: { timeout?: Duration } = {}): Promise<void> {
    return this.#e.stop(timeout === undefined ? undefined : toTimerMs(timeout, 'timeout'))
  }

  /**
   * Enqueues one task. With `db` (the caller's transaction: Kysely, a node-postgres client inside BEGIN,
   * any `{ query(text, values) }`, postgres.js, Knex, Prisma, or `fromDrizzle(tx, sql)`; see
   * docs/enqueue.md), the task exists iff that transaction commits, and workers are woken at commit.
   * @example const { taskId } = await tasks.addTask(sendReminder, { userId: 'u1' }, { priority: 'HIGH' })
   */
  async addTask<A>(
    task: TaskDefinition<A, unknown>,
    args: A,
    opts: EnqueueOptions & { db?: CallerDb } = {},
  ): Promise<EnqueueResult> {
    return this.#e.services.enqueue.addTask(task, args, opts)
  }

  /** Enqueues many tasks of one kind, all or none, in one round trip. */
  async addTasks<A>(
    task: TaskDefinition<A, unknown>,
    argsList: A[],
    opts: EnqueueOptions & { db?: CallerDb } = {},
  ): Promise<EnqueueResult[]> {
    return this.#e.services.enqueue.addTasks(task, argsList, opts)
  }

  /** The task, live or finished, or null when there is no such task. */
  async getTask(taskId: string): Promise<TaskInfo | null> {
    return this.#e.services.reader.get(taskId)
  }

  /** Live worker processes (heartbeat within the heartbeat timeout), oldest first. */
  async listWorkers(): Promise<WorkerInfo[]> {
    return this.#e.services.workers.list()
  }

  /** Every attempt that failed (and the final one), with timings and errors. */
  async getAttempts(taskId: string): Promise<TaskAttempt[]> {
    return this.#e.services.reader.attempts(taskId)
  }

  /**
   * A page of tasks, newest created first (live and finished alike). Pass `nextCursor` back as
   * `cursor`: walking every page lists each task matching the filter throughout exactly once, however
   * tasks change state meanwhile (docs/http.md, `GET /tasks`). Throws validation_failed for a bad
   * limit (1–500) or cursor.
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

  /** Cancels a queued, scheduled, retrying or running task; returns its TaskInfo. */
  async cancel(taskId: string): Promise<TaskInfo> {
    return this.#e.services.control.cancel(taskId)
  }

  /** Runs a failed or cancelled task again; returns its TaskInfo. */
  async retry(taskId: string): Promise<TaskInfo> {
    return this.#e.services.control.retry(taskId)
  }

  /**
   * Runs again every failed task of one name (dead-lettered included), up to `limit`. Returns how many
   * were retried; a task that changed state meanwhile is skipped.
   */
  async retryFailed(taskName: string, opts: { limit?: number } = {}): Promise<{ retried: number }> {
    return this.#e.services.control.retryFailed(taskName, opts)
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
   * the sliding window. Every field is defined in docs/stats.md.
   */
  async getTaskStats(): Promise<TaskStats> {
    return this.#e.services.stats.taskStats()
  }

  /** Per task name and time bucket: counts, throughput, wait/run percentiles, error rate. */
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

  /** Removes a schedule made with schedule(). Resolves whether there was one. */
  async unschedule(taskName: string, opts: { key?: string } = {}): Promise<boolean> {
    return this.#e.services.schedules.unschedule(taskName, opts)
  }

  /** Every schedule, each with its next `count` (default 5) run instants, as ISO strings. */
  async listSchedules(opts: { count?: number } = {}): Promise<ScheduleInfo[]> {
    return this.#e.services.schedules.list(opts)
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
