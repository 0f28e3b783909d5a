import type { Kysely } from 'kysely'
import type { Config } from './config.ts'
import type { Database } from './db/database.ts'
import type { EventBus } from './events/event-bus.ts'
import type { TasklaneHttp } from './http/tasklane-http.ts'
import { createLogger, type Logger } from './logger.ts'
import type { BossJobStore } from './queue/boss-job-store.ts'
import { resolveSettings, type Settings } from './resolve-settings.ts'
import type { Scheduler } from './schedule/scheduler.ts'
import type { TasklaneOptions } from './tasklane-options.ts'
import { type Runtime, startRuntime, stopRuntime } from './tasklane-runtime.ts'
import { createServices, type TasklaneServices } from './tasklane-services.ts'
import { TaskRegistry } from './tasks/registry.ts'
import { TasklaneHooks } from './telemetry/lifecycle-hooks.ts'
import type { QueueRunner } from './worker/queue-runner.ts'

type State = 'new' | 'starting' | 'started' | 'stopping' | 'stopped'

/**
 * What stands behind a Tasklane: its settings, registry and hooks, its lifecycle (start, stop), and
 * once started the runtime's parts and the services built over them. Tasklane's public methods
 * delegate here; the HTTP layer gets `http`; tests, benchmarks and tools of this repository reach
 * the rest through src/internal.ts. Not public API.
 */
export class TasklaneEngine {
  /** The configuration the instance was given (or loaded from the environment). */
  readonly config: Readonly<Config>
  /** The configuration with the options applied: what the instance runs with. */
  readonly settings: Readonly<Settings>
  readonly registry: TaskRegistry
  readonly log: Logger
  readonly hooks: TasklaneHooks
  /** Every queue this instance knows: its tasks' and those listed in `queues`. */
  readonly queueNames: readonly string[]
  /** The narrow port the HTTP layer uses, answering from the services once started. */
  readonly http: TasklaneHttp
  #state: State = 'new'
  #starting: Promise<void> | null = null
  #stopping: Promise<void> | null = null
  #runtime: Runtime | null = null
  #services: TasklaneServices | null = null
  #startedAt: Date | null = null
  #startedMono = 0
  #busyMsTotal = 0

  constructor(options: TasklaneOptions, config: Readonly<Config>) {
    this.config = config
    // Every option checked now, like the environment, so a bad one fails here and not at start().
    this.settings = resolveSettings(options, config)
    this.log = options.logger ?? createLogger(this.settings.logLevel)
    this.registry = new TaskRegistry(options.tasks)
    this.hooks = new TasklaneHooks(this.log)
    this.queueNames = Object.freeze([
      ...new Set([...this.registry.queues(), ...Object.keys(this.settings.queues)]),
    ])
    this.http = httpPort(this)
  }

  get started(): boolean {
    return this.#state === 'started'
  }

  get startedAt(): Date | null {
    return this.#startedAt
  }

  /** The services of the started instance; throws, saying to call start(), before and after. */
  get services(): TasklaneServices {
    if (this.#state !== 'started' && this.#state !== 'stopping') {
      throw new Error(`tasklane is ${this.#state}: call await tasks.start() first`)
    }
    return this.#services!
  }

  /** The runtime's parts (the same condition as `services`). */
  get runtime(): Runtime {
    void this.services
    return this.#runtime!
  }

  /** tasklane's Kysely, scoped to its schema. */
  get db(): Kysely<Database> {
    return this.runtime.db.kysely
  }

  get connectionString(): string {
    return this.runtime.connectionString
  }

  get bus(): EventBus {
    return this.runtime.bus
  }

  /** The job store; `store.boss` is pg-boss itself, for tests and benchmarks that drive its API. */
  get store(): BossJobStore {
    return this.runtime.store
  }

  /** This process's scheduler (present when it supervises). */
  get scheduler(): Scheduler | null {
    return this.runtime.scheduler
  }

  /** The queue runners of this process; none before start or with workers: 0. */
  get runners(): readonly QueueRunner[] {
    return this.#runtime?.runners ?? []
  }

  /** Sum of the wall time of attempts run by this process (worker utilisation). */
  get busyMsTotal(): number {
    return this.#busyMsTotal
  }

  /** See Tasklane.start(). */
  async start(): Promise<void> {
    if (this.#state === 'started') return
    if (this.#state !== 'new') throw new Error(`cannot start a tasklane instance that is ${this.#state}`)
    this.#state = 'starting'
    this.#starting = startRuntime(this.#runtimeContext(), (r) => {
      this.#runtime = r as Runtime
    }).then(
      (r) => {
        this.#runtime = r
        this.#startedAt = new Date()
        this.#startedMono = performance.now()
        this.#services = createServices(r, {
          settings: this.settings,
          registry: this.registry,
          hooks: this.hooks,
          queueNames: this.queueNames,
          startedAt: this.#startedAt,
        })
        this.#state = 'started'
        if (r.runners.length > 0 && this.hooks.has('worker:start')) {
          const queues = Object.fromEntries(r.runners.map((q) => [q.queue, q.concurrency]))
          this.hooks.emit('worker:start', { workerId: this.settings.workerId, queues })
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

  #runtimeContext() {
    return {
      settings: this.settings,
      log: this.log,
      registry: this.registry,
      queueNames: () => [...this.queueNames],
      onAttemptDone: (ms: number) => {
        this.#busyMsTotal += ms
      },
      busyMsTotal: () => this.#busyMsTotal,
      hooks: this.hooks,
    }
  }

  /** See Tasklane.stop(). `timeoutMs` defaults to the shutdown timeout setting. */
  async stop(timeoutMs = this.settings.shutdownTimeoutMs): Promise<void> {
    if (this.#state === 'new' || this.#state === 'stopped') {
      this.#state = 'stopped'
      return
    }
    if (this.#stopping) return this.#stopping
    this.#stopping = (async () => {
      await this.#starting?.catch(() => {})
      this.#state = 'stopping'
      await this.#teardown(timeoutMs)
      this.#state = 'stopped'
    })()
    return this.#stopping
  }

  async #teardown(timeoutMs: number): Promise<void> {
    if (!this.#runtime) return
    const hadWorkers = (this.#runtime.runners?.length ?? 0) > 0
    await stopRuntime(this.#runtime, timeoutMs)
    if (hadWorkers && this.hooks.has('worker:stop')) {
      // A duration: the monotonic clock.
      const uptimeMs = this.#startedAt ? Math.round(performance.now() - this.#startedMono) : 0
      this.hooks.emit('worker:stop', { workerId: this.settings.workerId, uptimeMs })
    }
    this.log.info({ workerId: this.settings.workerId }, 'tasklane stopped')
    this.log.flush?.()
  }

  /** Leases and runs one batch on each queue; see Tasklane.runOnce(). */
  async runOnce(): Promise<number> {
    let n = 0
    for (const runner of this.runtime.runners) n += await runner.runOnce()
    return n
  }
}

/** The HTTP layer's view of an engine: each member reads the services when called, not before. */
function httpPort(e: TasklaneEngine): TasklaneHttp {
  const s = () => e.services
  return {
    log: e.log,
    apiToken: e.settings.apiToken,
    maxBodyBytes: e.settings.maxBodyBytes,
    taskNames: () => e.registry.names(),
    taskQueues: () => e.registry.queues(),
    requireTask: (name) => e.registry.require(name),
    enqueueRequests: (requests) => s().enqueue.enqueueRequests(requests),
    getTask: (taskId) => s().reader.get(taskId),
    getAttempts: (taskId) => s().reader.attempts(taskId),
    listTasks: (filter) => s().reader.list(filter),
    cancel: (taskId) => s().control.cancel(taskId),
    retry: (taskId) => s().control.retry(taskId),
    retryFailed: (taskName) => s().control.retryFailed(taskName),
    listWorkers: () => s().workers.list(),
    listSchedules: (opts) => s().schedules.list(opts),
    previewSchedule: (cron, opts) => s().schedules.preview(cron, opts),
    getTaskStats: () => s().stats.taskStats(),
    getAnalytics: (opts) => s().stats.analytics(opts),
    getMetrics: () => s().stats.metrics(),
    readiness: () => s().readiness(),
    events: (filter, options) => s().events.stream(filter, options),
  }
}
