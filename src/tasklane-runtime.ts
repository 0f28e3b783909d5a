import { createDb, type Db } from './db/create-db.ts'
import { withLibpqSslModes } from './db/libpq-ssl.ts'
import { migrateToLatest } from './db/migrate.ts'
import { GroupCommitter } from './enqueue/group-committer.ts'
import { publishForSqlApi } from './enqueue/sql-api.ts'
import { EventBus } from './events/event-bus.ts'
import { EventPublisher } from './events/event-publisher.ts'
import type { BusMessage } from './events/event-types.ts'
import { eventsChannel } from './events/events-channel.ts'
import { TaskReader } from './inspect/task-reader.ts'
import type { Logger } from './logger.ts'
import { createBoss, startupOptionsSupport } from './queue/boss.ts'
import { BossJobStore } from './queue/boss-job-store.ts'
import { NamedStatements } from './queue/named-statements.ts'
import { ownerLockKey } from './queue/owner-lock-key.ts'
import { sessionLocksWork } from './queue/session-lock-probe.ts'
import { bossWakeChannel } from './queue/wake-channel.ts'
import type { Settings } from './resolve-settings.ts'
import { Scheduler } from './schedule/scheduler.ts'
import type { TaskRegistry } from './tasks/registry.ts'
import { AttemptTelemetry } from './telemetry/attempt-telemetry.ts'
import type { TasklaneHooks } from './telemetry/lifecycle-hooks.ts'
import { AttemptProfiler } from './worker/attempt-profiler.ts'
import { type AttemptExecutor, executeInline } from './worker/execute-attempt.ts'
import { Heartbeat } from './worker/heartbeat.ts'
import { Liveness } from './worker/liveness.ts'
import { Maintenance } from './worker/maintenance.ts'
import { AUTO_PREFETCH } from './worker/prefetch-window.ts'
import { QueueRunner } from './worker/queue-runner.ts'
import { Settler } from './worker/settler.ts'
import type { ThreadExecutor } from './worker/thread-pool.ts'

/** The live parts of a started tasklane instance. */
export interface Runtime {
  db: Db
  /** The job store (pg-boss's tables), the one port to them. */
  store: BossJobStore
  bus: EventBus
  publisher: EventPublisher
  committer: GroupCommitter
  settler: Settler
  reader: TaskReader
  runners: QueueRunner[]
  heartbeat: Heartbeat | null
  /** Fails the claims of processes whose connection closed (where session locks work). */
  liveness: Liveness | null
  maintenance: Maintenance | null
  /** Fires schedule slots (processes that supervise). */
  scheduler: Scheduler | null
  stopEmbedded: (() => Promise<void>) | null
  threads: ThreadExecutor | null
  connectionString: string
}

/** What assembling a runtime needs from its Tasklane instance. */
export interface RuntimeContext {
  /** Validated options over the configuration (resolve-settings.ts): the only settings read here. */
  settings: Settings
  log: Logger
  registry: TaskRegistry
  queueNames(): string[]
  /** Each finished attempt's wall time, for busy-time accounting. */
  onAttemptDone(ms: number): void
  busyMsTotal(): number
  /** Lifecycle event listeners (tasks.on). */
  hooks: TasklaneHooks
}

/**
 * Assembles and starts everything an instance runs: the database (embedded when no URL is given),
 * migrations, pg-boss, the LISTEN bus, enqueue and settle group commits, the queue runners with their
 * heartbeat, and maintenance. `partial` receives what exists so far, so a failed start can be torn down.
 */
export async function startRuntime(
  ctx: RuntimeContext,
  partial: (r: Partial<Runtime>) => void,
): Promise<Runtime> {
  const { settings, log } = ctx
  const budget = settings.connections
  let connectionString = resolveUrl(settings.databaseUrl)
  let stopEmbedded: (() => Promise<void>) | null = null
  if (!connectionString) {
    const { startEmbeddedPostgres } = await import('./db/embedded-postgres.ts')
    log.info(
      { dataDir: settings.embeddedDataDir, port: settings.embeddedPort },
      'DATABASE_URL is not set: starting the embedded Postgres',
    )
    const embedded = await startEmbeddedPostgres({
      dataDir: settings.embeddedDataDir,
      port: settings.embeddedPort,
      log: (msg) => log.debug({ embedded: msg }),
    })
    connectionString = embedded.connectionString
    stopEmbedded = () => embedded.stop()
    partial({ stopEmbedded })
  }
  if (settings.migrateOnStart) {
    await migrateToLatest({
      connectionString,
      schema: settings.schema,
      bossSchema: settings.bossSchema,
      dbBackend: settings.dbBackend,
      log,
    })
  }
  const db = createDb({ connectionString, schema: settings.schema, max: budget.tasklanePool })
  const supervise = settings.supervise
  const options = await startupOptionsSupport(connectionString)
  // Sent where dropped too: harmless, and applied again if the pooler goes.
  const plannerOptions = options !== 'refused'
  if (!plannerOptions) {
    log.warn(
      'the database (or the pooler in front of it) refuses the `options` startup parameter: leasing runs without its planner settings. With PgBouncer, add `options` to ignore_startup_parameters or set them per role (docs/operations.md)',
    )
  }
  // LISTEN is session state: behind a transaction-mode pooler it needs its own direct connection.
  const sessionUrl = resolveUrl(settings.listenUrl) ?? connectionString
  // The owner lock lives on that same connection. Probed before the pools open (within the budget).
  // Namespaced by the pg-boss schema: the claims live there, whichever tasklane schema leased them.
  const lock = ownerLockKey(settings.bossSchema, settings.workerId)
  // A server that refuses or drops `options` is a pooler (PgBouncer): not probed, since through
  // transaction pooling the probe's lock would outlive its client on a pooled server connection.
  const sessionIsDirect =
    (sessionUrl === connectionString ? options : await startupOptionsSupport(sessionUrl)) === 'applied'

  const ownerLock =
    settings.workers !== 0 && sessionIsDirect && (await sessionLocksWork(sessionUrl, lock)) ? lock : null
  if (settings.workers !== 0 && !ownerLock) {
    log.warn(
      'session locks do not outlive their connection here (a transaction-mode pooler?): claims of a killed worker come back after the heartbeat timeout. Set TASKLANE_LISTEN_URL to a direct URL for immediate recovery (docs/reliability.md)',
    )
  }
  const { heartbeatSeconds, bossSchema, workerId } = settings
  const store = new BossJobStore({
    boss: createBoss({
      connectionString,
      config: settings,
      supervise,
      plannerOptions,
      max: budget.bossPool,
      log,
    }),
    db: db.kysely,
    pool: db.pool,
    // Named statements hold to one server connection: not behind PgBouncer (named-statements.ts).
    named: new NamedStatements(options === 'applied', log),
    bossSchema,
    heartbeatSeconds,
    schema: settings.schema,
    dbBackend: settings.dbBackend,
  })
  let liveness: Liveness | null = null
  const bus = new EventBus({
    connectionString: sessionUrl,
    eventsChannel: eventsChannel(settings.schema),
    wakeChannel: bossWakeChannel(bossSchema),
    log,
    // Every LISTEN connection takes the owner lock before it counts as up: a reconnected worker holds
    // it at once, and never stamps a claim with a key no session holds.
    onSession: async (client) => {
      await liveness?.adopt(client)
    },
  })
  if (ownerLock) {
    liveness = new Liveness({ store, session: bus, lock: ownerLock, runners: () => r.runners, log })
  }
  const publisher = new EventPublisher(db.kysely, log)
  const r: Runtime = {
    db,
    store,
    bus,
    publisher,
    committer: new GroupCommitter(db.kysely, { store }),
    settler: new Settler({ db: db.kysely, store, workerId, log }),
    reader: new TaskReader(db.kysely, store, () => ctx.queueNames(), settings.heartbeatTimeoutMs),
    runners: [],
    heartbeat: null,
    liveness,
    maintenance: null,
    scheduler: null,
    stopEmbedded,
    connectionString,
    threads: null,
  }
  partial(r)
  await store.start(queuesToCreate(ctx))
  // The SQL API (<schema>.add_task) reads this process's task definitions; its queues exist now.
  await publishForSqlApi(db.kysely, ctx.registry, {
    store: store.sqlEnqueue,
    publishedBy: settings.workerId,
    log,
  })
  await bus.start()
  r.threads = await startThreadPool(ctx)
  r.runners = createRunners(ctx, r, () => r.liveness?.leaseOwner() ?? null)
  if (r.runners.length > 0) {
    bus.onWake((queue) => {
      for (const runner of r.runners) if (runner.queue === queue) runner.wake()
    })
    bus.onReconnect(() => {
      for (const runner of r.runners) runner.wake()
    })
    bus.onMessage((m) => abortCancelled(r, m), ['cancel'])
    r.heartbeat = new Heartbeat({
      db: db.kysely,
      store,
      workerId: settings.workerId,
      runners: () => r.runners,
      heartbeatTimeoutMs: settings.heartbeatTimeoutMs,
      memoryPoolMb: settings.memoryPoolMb,
      log,
      busyMsTotal: () => ctx.busyMsTotal(),
    })
    await r.heartbeat.start()
    // The lock was taken with the LISTEN connection (bus.start); passes judge other owners.
    await r.liveness?.start()
    for (const runner of r.runners) runner.start()
  }
  if (supervise) {
    r.maintenance = new Maintenance({
      db: db.kysely,
      store,
      queues: () => ctx.queueNames(),
      config: settings,
      log,
      deadLetterOf: (task) => ctx.registry.get(task)?.deadLetter ?? null,
    })
    r.maintenance.start()
    r.scheduler = new Scheduler({
      db: db.kysely,
      store,
      registry: ctx.registry,
      log,
    })
    await r.scheduler.start()
  }
  log.info(
    {
      workerId: settings.workerId,
      queues: r.runners.map((q) => `${q.queue}×${q.concurrency}`),
      maxConnections: budget.total,
    },
    'tasklane started',
  )
  return r
}

/** sslmode as psql users mean it (db/libpq-ssl.ts), for every connection this process opens. */
function resolveUrl<T extends string | undefined>(url: T): T {
  return (url === undefined ? url : withLibpqSslModes(url)) as T
}

/** Stops what `startRuntime` started, in dependency order; tolerates a partly started runtime. */
export async function stopRuntime(r: Partial<Runtime>, timeoutMs: number): Promise<void> {
  await Promise.all((r.runners ?? []).map((runner) => runner.stop(timeoutMs)))
  // An enqueue accepted before stop() was called is written before the pool closes.
  await r.committer?.drain()
  await r.threads?.close()
  await r.settler?.drain()
  await r.publisher?.drain()
  await r.heartbeat?.stop()
  await r.liveness?.stop()
  await r.scheduler?.stop()
  await r.maintenance?.stop()
  await r.bus?.stop()
  await r.store?.stop()
  await r.db?.close()
  await r.stopEmbedded?.()
}

/** A cancel announced by any process: abort the attempt if it runs here. */
function abortCancelled(r: Runtime, m: BusMessage): void {
  if (m.type !== 'cancel') return
  for (const runner of r.runners) if (runner.abort(m.taskId, 'cancel')) return
}

/** Every queue this instance names: its tasks' dead-letter queues and its own. */
function queuesToCreate(ctx: RuntimeContext): string[] {
  const deadLetters = new Set(ctx.registry.all().flatMap((t) => (t.deadLetter ? [t.deadLetter] : [])))
  return [...deadLetters, ...ctx.queueNames()]
}

/**
 * The worker-thread pool that tasks with mode: 'thread' run in; null unless this process runs one.
 * Loaded only then: piscina and the pool's code would otherwise sit in every worker's heap (and V8
 * lets the heap grow to a multiple of what it keeps live).
 */
async function startThreadPool(ctx: RuntimeContext): Promise<ThreadExecutor | null> {
  const { workers, threads, workerId } = ctx.settings
  if (workers === 0 || !ctx.registry.all().some((t) => t.mode === 'thread')) return null
  const { createThreadExecutor } = await import('./worker/thread-pool.ts')
  return createThreadExecutor({ threads, log: ctx.log.child({ workerId }) })
}

function createRunners(ctx: RuntimeContext, r: Runtime, leaseOwner: () => number | null): QueueRunner[] {
  const { settings } = ctx
  const { workers, pollIntervalMs, memoryPoolMb, workerId } = settings
  if (workers === 0) return []
  const canLease = memoryPoolMb > 0 ? () => process.memoryUsage.rss() / 1024 / 1024 < memoryPoolMb : undefined
  const profiler = settings.enableProfiling ? new AttemptProfiler() : undefined
  const { threads } = r
  const execute: AttemptExecutor = threads
    ? (task, args, taskCtx) =>
        task.mode === 'thread' ? threads.execute(task, args, taskCtx) : executeInline(task, args, taskCtx)
    : executeInline
  const telemetry = new AttemptTelemetry(ctx.hooks, workerId)
  return ctx.queueNames().map((queue) => {
    const q = settings.queues[queue]
    const concurrency = q?.concurrency ?? workers
    return new QueueRunner({
      queue,
      concurrency,
      prefetch: q?.prefetch ?? AUTO_PREFETCH,
      store: r.store,
      db: r.db.kysely,
      registry: ctx.registry,
      settler: r.settler,
      publisher: r.publisher,
      execute,
      workerId,
      leaseOwner,
      pollIntervalMs,
      log: ctx.log.child({ workerId, queue }),
      ...(canLease ? { canLease } : {}),
      ...(profiler ? { profiler } : {}),
      onAttemptDone: (ms) => ctx.onAttemptDone(ms),
      telemetry,
    })
  })
}
