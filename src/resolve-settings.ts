import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { type Config, SHARED_SETTINGS } from './config.ts'
import { type ConnectionBudget, connectionBudget } from './db/connection-budget.ts'
import { ConfigError, checkBoolean, checkInteger, invalid } from './setting-checks.ts'
import type { TasklaneOptions } from './tasklane-options.ts'
import { QUEUE_NAME_PATTERN } from './tasks/define-task.ts'

/** One queue's options, validated. */
export interface QueueSettings {
  readonly concurrency: number
  /** Undefined when not given: the queue runner picks its default. */
  readonly prefetch: number | undefined
}

/**
 * What an instance runs with, validated once and in tasklane's units (milliseconds): the
 * configuration with the options of createTasklane applied over it, plus what only options set.
 * The runtime reads nothing else: no `option ?? config` anywhere past this point.
 */
export interface Settings extends Readonly<Config> {
  /** heartbeatTimeoutMs in pg-boss's unit (whole seconds, exact): what every job is enqueued with. */
  readonly heartbeatSeconds: number
  /** Run pg-boss's supervisor, maintenance and the scheduler in this process. */
  readonly supervise: boolean
  /** How this process spends its connections (db/connection-budget.ts). */
  readonly connections: ConnectionBudget
  /** Options of the queues listed in `queues`, by name; any other queue runs `workers` slots. */
  readonly queues: Readonly<Record<string, QueueSettings>>
  /** Name this process registers under in the workers table. */
  readonly workerId: string
}

// Every option, so that a misspelt one is refused (a JavaScript caller has no compiler to catch it);
// the type makes a new option fail to compile until it is listed here.
const OPTIONS: Record<keyof TasklaneOptions, true> = {
  databaseUrl: true,
  tasks: true,
  workers: true,
  queues: true,
  config: true,
  logger: true,
  migrate: true,
  supervise: true,
  heartbeatTimeout: true,
  pollInterval: true,
  threads: true,
  rollupRetention: true,
  enableProfiling: true,
  memoryPoolMb: true,
  maxConnections: true,
  poolSize: true,
  workerId: true,
}
const QUEUE_OPTIONS = ['concurrency', 'prefetch']

/**
 * Validates the options of createTasklane with the bounds and messages of the environment variables
 * that set the same things (config.ts), and applies them over `config`. Durations become
 * milliseconds here, once.
 * @throws ConfigError naming the option, its value and what is accepted, e.g.
 *   `workers=-1 is invalid: expected an integer from 0 to 1000`.
 * @example resolveSettings({ tasks, pollInterval: '250ms' }, loadConfig()).pollIntervalMs // 250
 */
export function resolveSettings(options: TasklaneOptions, config: Readonly<Config>): Readonly<Settings> {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError(
      'createTasklane(options) takes an object, like { tasks: [sendReminder], workers: 4 }',
    )
  }
  refuseUnknown('createTasklane', options, Object.keys(OPTIONS))
  if (!Array.isArray(options.tasks))
    invalid('tasks', options.tasks, 'an array of tasks made with defineTask()')
  const over = <T>(name: keyof typeof SHARED_SETTINGS, configured: T): T => {
    const value = options[name]
    return value === undefined ? configured : (SHARED_SETTINGS[name].check(name, value) as T)
  }
  const heartbeatTimeoutMs = over('heartbeatTimeout', config.heartbeatTimeoutMs)
  const maxConnections = over('maxConnections', config.maxConnections)
  return Object.freeze({
    ...config,
    databaseUrl: over('databaseUrl', config.databaseUrl),
    workers: over('workers', config.workers),
    maxConnections,
    heartbeatTimeoutMs,
    heartbeatSeconds: heartbeatTimeoutMs / 1000,
    pollIntervalMs: over('pollInterval', config.pollIntervalMs),
    retentionRollupMs: over('rollupRetention', config.retentionRollupMs),
    migrateOnStart: over('migrate', config.migrateOnStart),
    threads: over('threads', config.threads),
    memoryPoolMb: over('memoryPoolMb', config.memoryPoolMb),
    enableProfiling: over('enableProfiling', config.enableProfiling),
    supervise: options.supervise === undefined ? true : checkBoolean('supervise', options.supervise),
    connections: connectionBudget(maxConnections, options.poolSize),
    queues: resolveQueues(options.queues),
    workerId: options.workerId === undefined ? defaultWorkerId() : checkWorkerId(options.workerId),
  })
}

function resolveQueues(queues: unknown): Record<string, QueueSettings> {
  if (queues === undefined) return {}
  if (typeof queues !== 'object' || queues === null || Array.isArray(queues)) {
    invalid('queues', queues, 'an object of queue name → options, like { emails: { concurrency: 2 } }')
  }
  const resolved: Record<string, QueueSettings> = {}
  for (const [name, q] of Object.entries(queues)) {
    if (!QUEUE_NAME_PATTERN.test(name)) {
      invalid('queues', name, "queue names of a-z, 0-9, '_' or '-', at most 50 characters")
    }
    if (typeof q !== 'object' || q === null) invalid(`queues.${name}`, q, '{ concurrency, prefetch? }')
    refuseUnknown(`queues.${name}`, q, QUEUE_OPTIONS)
    const { concurrency, prefetch } = q as Record<string, unknown>
    resolved[name] = Object.freeze({
      // At least 1: a runner with no slot would lease into its prefetch buffer and never run it.
      concurrency: checkInteger(`queues.${name}.concurrency`, concurrency, 1, 1000),
      prefetch:
        prefetch === undefined ? undefined : checkInteger(`queues.${name}.prefetch`, prefetch, 0, 10_000),
    })
  }
  return Object.freeze(resolved)
}

function defaultWorkerId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`
}

function checkWorkerId(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 200) {
    invalid('workerId', value, 'a non-empty string of at most 200 characters')
  }
  return value
}

function refuseUnknown(where: string, object: object, known: readonly string[]): void {
  for (const key of Object.keys(object)) {
    if (known.includes(key)) continue
    const near = known.find((k) => distance(k.toLowerCase(), key.toLowerCase()) <= 2 || key.startsWith(k))
    throw new ConfigError(
      `${where}: unknown option '${key}'${near ? `: did you mean '${near}'?` : ''} (options: ${known.join(', ')})`,
    )
  }
}

/** Levenshtein distance, for suggesting the option a misspelt one meant. */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const next = [i]
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    row = next
  }
  return row[b.length]!
}
