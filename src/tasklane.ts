import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import type { Kysely, Transaction } from 'kysely'
import { type Config, loadConfig } from './config.ts'
import { createDb, type Db } from './db/create-db.ts'
import type { Database } from './db/database.ts'
import { migrateToLatest } from './db/migrate.ts'
import { type Duration, toMs } from './duration.ts'
import {
  buildRequest,
  type EnqueueOptions,
  type EnqueueRequest,
  type EnqueueResult,
} from './enqueue/enqueue-request.ts'
import { writeRequests } from './enqueue/enqueue-writer.ts'
import { GroupCommitter } from './enqueue/group-committer.ts'
import { TasklaneError } from './errors.ts'
import { EventBus } from './events/event-bus.ts'
import { EventPublisher } from './events/event-publisher.ts'
import type { BusMessage, TaskEvent } from './events/event-types.ts'
import { cancelTask, retryTask } from './inspect/task-control.ts'
import type { TaskInfo } from './inspect/task-info.ts'
import { type ListTasksFilter, type TaskPage, TaskReader } from './inspect/task-reader.ts'
import { type EventFilter, streamTaskEvents, waitForTask } from './inspect/task-watch.ts'
import { createLogger, type Logger } from './logger.ts'
import { createBoss, type PgBoss } from './queue/boss.ts'
import { bossWakeChannel } from './queue/wake-channel.ts'
import { listSchedules, scheduleTask, unscheduleTask } from './schedule/schedules.ts'
import type { Analytics, StatsDeps, TaskStats } from './stats/stats.service.ts'
import type { TasklaneOptions } from './tasklane-options.ts'
import type { TaskDefinition } from './tasks/define-task.ts'
import { TaskRegistry } from './tasks/registry.ts'
import { AttemptProfiler } from './worker/attempt-profiler.ts'
import { type AttemptExecutor, executeInline } from './worker/execute-attempt.ts'
import { Heartbeat } from './worker/heartbeat.ts'
import { Maintenance } from './worker/maintenance.ts'
import { QueueRunner } from './worker/queue-runner.ts'
import { Settler } from './worker/settler.ts'
import { createThreadExecutor, type ThreadExecutor } from './worker/thread-pool.ts'
import { listLiveWorkers } from './workers/worker-process.repository.ts'

type State = 'new' | 'starting' | 'started' | 'stopping' | 'stopped'

/** Live parts, present between start() and stop(). */
interface Running {
  db: Db
  boss: PgBoss
  bus: EventBus
  publisher: EventPublisher
  committer: GroupCommitter
  settler: Settler
  reader: TaskReader
  runners: QueueRunner[]
  heartbeat: Heartbeat | null
  maintenance: Maintenance | null
  stopEmbedded: (() => Promise<void>) | null
  threads: ThreadExecutor | null
  connectionString: string
}

/**
 * A tasklane instance: the task API, and (unless workers: 0) this process's workers.
 * Made with createTasklane(); one per process.
 */
export class Tasklane {
  readonly registry: TaskRegistry
  readonly config: Readonly<Config>
  readonly log: Logger
  readonly workerId: string
  readonly #opts: TasklaneOptions
  #state: State = 'new'
  #starting: Promise<void> | null = null
  #stopping: Promise<void> | null = null
  #r: Running | null = null
  #startedAt: Date | null = null
  #busyMsTotal = 0

  constructor(opts: TasklaneOptions) {
    this.#opts = opts
    this.config = opts.config ?? loadConfig()
    this.log = opts.logger ?? createLogger(this.config.logLevel)
    this.registry = new TaskRegistry(opts.tasks)
    this.workerId = opts.workerId ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`
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

  get runners(): readonly QueueRunner[] {
    return this.#r?.runners ?? []
  }

  get heartbeatTimeoutMs(): number {
    return this.#opts.heartbeatTimeout !== undefined
      ? toMs(this.#opts.heartbeatTimeout, 'heartbeatTimeout')
      : this.config.heartbeatTimeoutMs
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
    this.#starting = this.#start().then(
      () => {
        this.#state = 'started'
        this.#startedAt = new Date()
      },
      async (err) => {
        await this.#teardown(0).catch(() => {})
        this.#state = 'stopped'
        throw err
      },
    )
    return this.#starting
  }

  async #start(): Promise<void> {
    const { config, log } = this
    const opts = this.#opts
    let connectionString = opts.databaseUrl ?? config.databaseUrl
    let stopEmbedded: (() => Promise<void>) | null = null
    if (!connectionString) {
      const { startEmbeddedPostgres } = await import('./db/embedded-postgres.ts')
      log.info(
        { dataDir: config.embeddedDataDir, port: config.embeddedPort },
        'DATABASE_URL is not set: starting the embedded Postgres',
      )
      const embedded = await startEmbeddedPostgres({
        dataDir: config.embeddedDataDir,
        port: config.embeddedPort,
        log: (msg) => log.debug({ embedded: msg }),
      })
      connectionString = embedded.connectionString
      stopEmbedded = () => embedded.stop()
      this.#r = { stopEmbedded } as Running
    }
    if (opts.migrate ?? config.migrateOnStart) {
      await migrateToLatest({
        connectionString,
        schema: config.schema,
        bossSchema: config.bossSchema,
        dbBackend: config.dbBackend,
        log,
      })
    }
    const db = createDb({ connectionString, schema: config.schema, max: opts.poolSize ?? 10 })
    const supervise = opts.supervise ?? true
    const boss = createBoss({
      connectionString,
      config: { ...config, heartbeatTimeoutMs: this.heartbeatTimeoutMs },
      supervise,
      log,
    })
    const bus = new EventBus({ connectionString, wakeChannel: bossWakeChannel(config.bossSchema), log })
    const publisher = new EventPublisher(db.kysely, log)
    const heartbeatSeconds = Math.ceil(this.heartbeatTimeoutMs / 1000)
    const committer = new GroupCommitter(db.kysely, { boss, heartbeatSeconds })
    const settler = new Settler({
      db: db.kysely,
      boss,
      bossSchema: config.bossSchema,
      workerId: this.workerId,
      log,
    })
    const reader = new TaskReader(
      db.kysely,
      config.bossSchema,
      () => this.#queueNames(),
      this.heartbeatTimeoutMs,
    )
    this.#r = {
      db,
      boss,
      bus,
      publisher,
      committer,
      settler,
      reader,
      runners: [],
      heartbeat: null,
      maintenance: null,
      stopEmbedded,
      connectionString,
      threads: null,
    }
    await boss.start()
    await this.#ensureQueues(boss)
    await bus.start()
    this.#r.runners = this.#createRunners()
    if (this.#r.runners.length > 0) {
      bus.onWake((queue) => {
        for (const r of this.#r?.runners ?? []) if (r.queue === queue) r.wake()
      })
      bus.onReconnect(() => {
        for (const r of this.#r?.runners ?? []) r.wake()
      })
      bus.onMessage((m) => this.#onBusMessage(m))
      this.#r.heartbeat = new Heartbeat({
        db: db.kysely,
        boss,
        workerId: this.workerId,
        runners: () => this.#r?.runners ?? [],
        heartbeatTimeoutMs: this.heartbeatTimeoutMs,
        memoryPoolMb: opts.memoryPoolMb ?? config.memoryPoolMb,
        log,
        busyMsTotal: () => this.#busyMsTotal,
      })
      await this.#r.heartbeat.start()
      for (const r of this.#r.runners) r.start()
    }
    if (supervise) {
      this.#r.maintenance = new Maintenance({
        db: db.kysely,
        bossSchema: config.bossSchema,
        queues: () => this.#queueNames(),
        config,
        log,
      })
      this.#r.maintenance.start()
    }
    log.info(
      { workerId: this.workerId, queues: this.#r.runners.map((r) => `${r.queue}×${r.concurrency}`) },
      'tasklane started',
    )
  }

  #queueNames(): string[] {
    const names = new Set(this.registry.queues())
    for (const q of Object.keys(this.#opts.queues ?? {})) names.add(q)
    return [...names]
  }

  async #ensureQueues(boss: PgBoss): Promise<void> {
    const deadLetters = new Set(this.registry.all().flatMap((t) => (t.deadLetter ? [t.deadLetter] : [])))
    const existing = new Set((await boss.getQueues()).map((q) => q.name))
    for (const name of [...deadLetters, ...this.#queueNames()]) {
      if (existing.has(name)) continue
      // notify: pg-boss NOTIFYs once per insert statement with ready work, which is what wakes our runners.
      await boss.createQueue(name, { notify: true }).catch((err: Error) => {
        if (!/already exists/i.test(err.message)) throw err
      })
    }
  }

  #createRunners(): QueueRunner[] {
    const r = this.#r!
    const workers = this.#opts.workers ?? this.config.workers
    if (workers === 0) return []
    const pollIntervalMs =
      this.#opts.pollInterval !== undefined
        ? toMs(this.#opts.pollInterval, 'pollInterval')
        : this.config.pollIntervalMs
    const memoryPoolMb = this.#opts.memoryPoolMb ?? this.config.memoryPoolMb
    const canLease =
      memoryPoolMb > 0 ? () => process.memoryUsage.rss() / 1024 / 1024 < memoryPoolMb : undefined
    const profiler =
      (this.#opts.enableProfiling ?? this.config.enableProfiling) ? new AttemptProfiler() : undefined
    // Tasks with mode: 'thread' run in the worker-thread pool; the pool exists only if one is registered.
    const threads = this.registry.all().some((t) => t.mode === 'thread')
      ? createThreadExecutor({
          threads: this.#opts.threads ?? this.config.threads,
          log: this.log.child({ workerId: this.workerId }),
        })
      : null
    r.threads = threads
    const execute: AttemptExecutor = threads
      ? (task, args, ctx) =>
          task.mode === 'thread' ? threads.execute(task, args, ctx) : executeInline(task, args, ctx)
      : executeInline
    return this.#queueNames().map((queue) => {
      const q = this.#opts.queues?.[queue]
      const concurrency = q?.concurrency ?? workers
      return new QueueRunner({
        queue,
        concurrency,
        // No prefetch by default: a leased task reads as `running`, so leasing ahead of free slots
        // would report waiting tasks as running. Throughput-bound deployments opt in per queue.
        prefetch: q?.prefetch ?? 0,
        boss: r.boss,
        db: r.db.kysely,
        bossSchema: this.config.bossSchema,
        registry: this.registry,
        settler: r.settler,
        publisher: r.publisher,
        execute,
        workerId: this.workerId,
        pollIntervalMs,
        log: this.log.child({ workerId: this.workerId, queue }),
        ...(canLease ? { canLease } : {}),
        ...(profiler ? { profiler } : {}),
        onAttemptDone: (ms) => {
          this.#busyMsTotal += ms
        },
      })
    })
  }

  #onBusMessage(m: BusMessage): void {
    if (m.type !== 'cancel') return
    for (const r of this.#r?.runners ?? []) if (r.abort(m.taskId, 'cancel')) return
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
    const ms = timeout !== undefined ? toMs(timeout, 'timeout') : this.config.shutdownTimeoutMs
    this.#stopping = (async () => {
      await this.#starting?.catch(() => {})
      this.#state = 'stopping'
      await this.#teardown(ms)
      this.#state = 'stopped'
    })()
    return this.#stopping
  }

  async #teardown(timeoutMs: number): Promise<void> {
    const r = this.#r
    if (!r) return
    await Promise.all((r.runners ?? []).map((runner) => runner.stop(timeoutMs)))
    await r.threads?.close()
    await r.settler?.drain()
    await r.publisher?.drain()
    await r.heartbeat?.stop()
    await r.maintenance?.stop()
    await r.bus?.stop()
    await r.boss?.stop({ graceful: false, close: true }).catch(() => {})
    await r.db?.close()
    await r.stopEmbedded?.()
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
   * Enqueues one task. With `db` (a Kysely transaction), the task exists iff that transaction commits.
   * @example const { taskId } = await tasks.addTask(sendReminder, { userId: 'u1' }, { priority: 'HIGH' })
   */
  async addTask<A>(
    task: TaskDefinition<A, any>,
    args: A,
    opts: EnqueueOptions & { db?: Transaction<any> | Kysely<any> } = {},
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
    opts: EnqueueOptions & { db?: Transaction<any> | Kysely<any> } = {},
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

  async #write(
    requests: EnqueueRequest[],
    callerDb: Transaction<any> | Kysely<any> | undefined,
  ): Promise<EnqueueResult[]> {
    const r = this.#live()
    if (requests.length === 0) return []
    const deps = { boss: r.boss, heartbeatSeconds: Math.ceil(this.heartbeatTimeoutMs / 1000) }
    if (callerDb) {
      // The caller's transaction, scoped to our schema for our own tables.
      return writeRequests(callerDb.withSchema(this.config.schema) as Kysely<Database>, deps, requests)
    }
    if (requests.some((q) => q.idempotencyKey)) {
      return r.db.kysely.transaction().execute((trx) => writeRequests(trx, deps, requests))
    }
    await r.committer.submit(requests)
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

  async listTasks(filter: ListTasksFilter = {}): Promise<TaskPage> {
    return this.#live().reader.list(filter)
  }

  /** Resolves with the final TaskInfo once the task completes, fails or is cancelled. Event-driven. */
  async waitFor(taskId: string, { timeout = '30s' }: { timeout?: Duration } = {}): Promise<TaskInfo> {
    const r = this.#live()
    return waitForTask(r.bus, r.reader, taskId, toMs(timeout, 'timeout'))
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
      bossSchema: this.config.bossSchema,
      registry: this.registry,
      publisher: r.publisher,
      heartbeatSeconds: Math.ceil(this.heartbeatTimeoutMs / 1000),
      queues: () => this.#queueNames(),
    }
  }

  /**
   * Progress and status events, from every process, as an async iterator. With `taskId`, it ends
   * after the task's final status.
   * @example for await (const ev of tasks.events({ taskId })) console.log(ev)
   */
  events(filter: EventFilter = {}): AsyncGenerator<TaskEvent> {
    const r = this.#live()
    return streamTaskEvents(r.bus, r.reader, filter)
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
      bossSchema: this.config.bossSchema,
      queues: this.#queueNames(),
      windowMs: this.config.statsWindowMs,
      heartbeatTimeoutMs: this.heartbeatTimeoutMs,
      startedAt: this.#startedAt ?? new Date(),
    }
  }

  /**
   * Runs `task` on a cron schedule, once per slot across all replicas (pg-boss's cron, which takes a
   * lock per slot). `key` names the schedule (default: the task name), so one task can have several.
   * @example await tasks.schedule('nightly-report', '0 3 * * *', {}, { tz: 'Europe/Paris' })
   */
  async schedule(
    taskName: string,
    cron: string,
    args: unknown = {},
    opts: { tz?: string; key?: string } = {},
  ) {
    return scheduleTask(this.#scheduleDeps(), taskName, cron, args, opts)
  }

  /** Removes a schedule made with schedule(). */
  async unschedule(taskName: string, opts: { key?: string } = {}): Promise<void> {
    return unscheduleTask(this.#scheduleDeps(), taskName, opts.key)
  }

  /** Schedules of this instance's queues. */
  async listSchedules() {
    return listSchedules(this.#live(), this.#queueNames())
  }

  #scheduleDeps() {
    return { boss: this.#live().boss, registry: this.registry, heartbeatTimeoutMs: this.heartbeatTimeoutMs }
  }

  /** pg-boss, for the few features tasklane passes through (schedules). */
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
