import {
  checkBoolean,
  checkBytes,
  checkDatabaseUrl,
  checkDuration,
  checkIdentifier,
  checkInteger,
  checkNumber,
  checkOneOf,
  checkWholeSeconds,
  invalid,
} from './setting-checks.ts'

/**
 * The configuration read from the environment by loadConfig() (README, "Configuration"): the only
 * reader of process.env. Every variable is validated once, here; a bad value fails with a ConfigError
 * naming the variable, the value and what is accepted. Durations are in milliseconds. Frozen.
 * @example createTasklane({ tasks, config: loadConfig({ ...process.env, TASKLANE_WORKERS: '8' }) })
 */
export interface Config {
  /** Postgres connection string (DATABASE_URL); when absent, tasklane starts the embedded Postgres. */
  databaseUrl: string | undefined
  /**
   * A direct (not transaction-pooled) URL for the one LISTEN connection per process, where
   * DATABASE_URL goes through PgBouncer in transaction mode (docs/operations.md): TASKLANE_LISTEN_URL.
   * Default: DATABASE_URL.
   */
  listenUrl: string | undefined
  /** Port `tasklane serve` listens on (PORT), 0 to 65535; default 8000. */
  port: number
  /**
   * Address `tasklane serve` listens on (HOST); default 127.0.0.1. A non-loopback address needs
   * apiToken (or `--insecure`).
   */
  host: string
  /**
   * Concurrency of each queue in this process not given its own (TASKLANE_WORKERS), 0 to 1000; 0 runs
   * no workers. Default 4.
   */
  workers: number
  /**
   * Most connections one process opens, all pools plus LISTEN (TASKLANE_MAX_CONNECTIONS), 3 to 10000;
   * default 15 (docs/operations.md, "Connections").
   */
  maxConnections: number
  /**
   * Bearer token every route but /health requires (TASKLANE_API_TOKEN), at least 16 characters;
   * undefined: no auth.
   */
  apiToken: string | undefined
  /**
   * Schema of tasklane's own tables, and the one setting that isolates an app: the pg-boss schema,
   * the NOTIFY channel and the advisory-lock keys are all derived from it (docs/operations.md).
   * TASKLANE_SCHEMA, at most 56 characters; default `tasklane`.
   */
  schema: string
  /**
   * Schema pg-boss keeps its queue tables (and cron schedules) in (TASKLANE_BOSS_SCHEMA): default
   * `<schema>_boss`, or `pgboss` for the default schema.
   */
  bossSchema: string
  /** pg-boss's `backend` (TASKLANE_DB_BACKEND); default `postgres`. */
  dbBackend: 'postgres' | 'citus' | 'cockroachdb' | 'yugabytedb'
  /** pino level of tasklane's logger (LOG_LEVEL); default `info`. */
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
  /**
   * A worker process that misses heartbeats this long is presumed dead; its tasks run again
   * (TASKLANE_HEARTBEAT_TIMEOUT, whole seconds from 5s to 1h; default 30 s), in milliseconds.
   */
  heartbeatTimeoutMs: number
  /**
   * Fallback poll when no NOTIFY arrives (LISTEN unavailable, e.g. PgBouncer transaction mode):
   * TASKLANE_POLL_INTERVAL, 50ms to 60s, default 1 s; in milliseconds.
   */
  pollIntervalMs: number
  /**
   * How long running tasks get to finish at stop() or SIGTERM (TASKLANE_SHUTDOWN_TIMEOUT, up to 1h;
   * default 30 s), in milliseconds.
   */
  shutdownTimeoutMs: number
  /**
   * History of completed tasks (and idempotency keys) is pruned after this (TASKLANE_RETENTION_COMPLETED,
   * 1h to 3650d; default 30 days), in milliseconds.
   */
  retentionCompletedMs: number
  /**
   * History of failed and cancelled tasks is pruned after this (TASKLANE_RETENTION_FAILED, 1h to
   * 3650d; default 90 days), in milliseconds.
   */
  retentionFailedMs: number
  /**
   * Daily rollups (task_rollup) are kept this long, independently of history (TASKLANE_RETENTION_ROLLUP,
   * 1d to 36500d; default 730 days), in milliseconds.
   */
  retentionRollupMs: number
  /**
   * Apply pending migrations at start() (TASKLANE_MIGRATE, default true); turn off where deployments
   * migrate separately.
   */
  migrateOnStart: boolean
  /**
   * Sliding window of the rates and percentiles of TaskStats (TASKLANE_STATS_WINDOW, 10s to 24h;
   * default 5 minutes), in milliseconds.
   */
  statsWindowMs: number
  /** Worker threads for tasks with mode: 'thread' (TASKLANE_THREADS, 1 to 256; default 2). */
  threads: number
  /**
   * Memory budget of a worker process in MiB (TASKLANE_MEMORY_POOL_MB, 0 to 1048576; 0 = none, the
   * default): above it, the process stops leasing.
   */
  memoryPoolMb: number
  /** Record per-task CPU time and peak memory in history (TASKLANE_PROFILING, default false). */
  enableProfiling: boolean
  /** Largest request body the HTTP API accepts, in bytes (TASKLANE_MAX_BODY, 1kb to 64mb; default 1 MiB). */
  maxBodyBytes: number
  /** Data directory of the embedded Postgres (TASKLANE_DATA_DIR); default `.tasklane/pgdata`. */
  embeddedDataDir: string
  /** Port of the embedded Postgres (TASKLANE_EMBEDDED_PORT), 1024 to 65535; default 54329. */
  embeddedPort: number
  /** Multiplies every sleep of the demo tasks (DEMO_TIME_SCALE, 0 to 1000; default 1). */
  demoTimeScale: number
  /** Module whose `tasks` export `tasklane serve`/`worker` run (TASKLANE_TASKS; default: the demo). */
  tasksModule: string | undefined
}

export { ConfigError } from './setting-checks.ts'

type Env = Record<string, string | undefined>

function read(env: Env, name: string): string | undefined {
  const value = env[name]
  return value === undefined || value.trim() === '' ? undefined : value.trim()
}

/** The schema tasklane used before TASKLANE_SCHEMA isolated everything; its pg-boss schema stays `pgboss`. */
export const DEFAULT_SCHEMA = 'tasklane'

/**
 * Longest TASKLANE_SCHEMA: the names derived from it (`<schema>_boss`, the NOTIFY channel
 * `<schema>_events`) must stay within PostgreSQL's 63-byte identifiers.
 */
export const MAX_SCHEMA_LENGTH = 56

/**
 * The pg-boss schema an app uses unless TASKLANE_BOSS_SCHEMA says otherwise: `<schema>_boss`, so
 * that two apps differing only in TASKLANE_SCHEMA share no queue, job or schedule. The default schema
 * keeps `pgboss`, where every install made before this rule keeps its queued jobs.
 * @example defaultBossSchema('billing') // 'billing_boss'; defaultBossSchema('tasklane') // 'pgboss'
 */
export function defaultBossSchema(schema: string): string {
  return schema === DEFAULT_SCHEMA ? 'pgboss' : `${schema}_boss`
}

/** Fewest connections a process can work with: LISTEN, one to lease with, one to settle with. */
export const MIN_CONNECTIONS = 3
/** tasklane's pool 10, pg-boss's 4, LISTEN 1: what every earlier release opened. */
export const DEFAULT_MAX_CONNECTIONS = 15
/** What TASKLANE_MAX_CONNECTIONS and the maxConnections option accept, and why no fewer. */
export const MAX_CONNECTIONS_ACCEPTED = `an integer from ${MIN_CONNECTIONS} to 10000: a process needs one LISTEN connection, one for pg-boss to lease with and one for tasklane to settle with (default ${DEFAULT_MAX_CONNECTIONS})`

/**
 * A setting that an environment variable and an option of createTasklane both set (resolve-settings.ts):
 * the variable, its default written as the variable would be, and the one check both go through, so
 * the two accept the same values and refuse the rest with the same message.
 */
export interface SharedSetting<T> {
  readonly env: string
  readonly fallback: string | undefined
  readonly check: (name: string, value: unknown) => T
}

/** The settings shared by the environment and the options, keyed by option name. */
export const SHARED_SETTINGS = {
  databaseUrl: { env: 'DATABASE_URL', fallback: undefined, check: checkDatabaseUrl },
  workers: { env: 'TASKLANE_WORKERS', fallback: '4', check: (n, v) => checkInteger(n, v, 0, 1000) },
  maxConnections: {
    env: 'TASKLANE_MAX_CONNECTIONS',
    fallback: String(DEFAULT_MAX_CONNECTIONS),
    check: (n, v) => checkInteger(n, v, MIN_CONNECTIONS, 10_000, MAX_CONNECTIONS_ACCEPTED),
  },
  heartbeatTimeout: {
    env: 'TASKLANE_HEARTBEAT_TIMEOUT',
    fallback: '30s',
    // pg-boss counts heartbeats in whole seconds: anything finer is refused, not rounded.
    check: (n, v) => checkWholeSeconds(n, v, checkDuration(n, v, '5s', '1h')),
  },
  pollInterval: {
    env: 'TASKLANE_POLL_INTERVAL',
    fallback: '1s',
    check: (n, v) => checkDuration(n, v, '50ms', '60s'),
  },
  rollupRetention: {
    env: 'TASKLANE_RETENTION_ROLLUP',
    fallback: '730d',
    check: (n, v) => checkDuration(n, v, '1d', '36500d'),
  },
  migrate: { env: 'TASKLANE_MIGRATE', fallback: 'true', check: checkBoolean },
  threads: { env: 'TASKLANE_THREADS', fallback: '2', check: (n, v) => checkInteger(n, v, 1, 256) },
  memoryPoolMb: {
    env: 'TASKLANE_MEMORY_POOL_MB',
    fallback: '0',
    check: (n, v) => checkInteger(n, v, 0, 1_048_576),
  },
  enableProfiling: { env: 'TASKLANE_PROFILING', fallback: 'false', check: checkBoolean },
} as const satisfies Record<string, SharedSetting<unknown>>

/** A shared setting from the environment: its variable checked, or its default. */
function shared<T>(env: Env, setting: SharedSetting<T>): T {
  const raw = read(env, setting.env) ?? setting.fallback
  return (raw === undefined ? undefined : setting.check(setting.env, raw)) as T
}

function apiToken(env: Env): string | undefined {
  const raw = read(env, 'TASKLANE_API_TOKEN')
  if (raw !== undefined && raw.length < 16) {
    invalid(
      'TASKLANE_API_TOKEN',
      '<redacted>',
      'at least 16 characters (generate one with: openssl rand -hex 24)',
    )
  }
  return raw
}

/**
 * Reads and validates the configuration from the environment (`env`, default process.env): the
 * variables of README, "Configuration". Blank values count as unset. Throws a ConfigError naming the
 * first invalid variable, its value and what is accepted (`TASKLANE_WORKERS="-1" is invalid: expected
 * an integer from 0 to 1000`).
 * @example const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' })
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Readonly<Config> {
  const integer = (name: string, fallback: number, min: number, max: number) => {
    const raw = read(env, name)
    return raw === undefined ? fallback : checkInteger(name, raw, min, max)
  }
  const duration = (name: string, fallback: string, min: string, max: string) =>
    checkDuration(name, read(env, name) ?? fallback, min, max)
  const schema = checkIdentifier(
    'TASKLANE_SCHEMA',
    read(env, 'TASKLANE_SCHEMA') ?? DEFAULT_SCHEMA,
    MAX_SCHEMA_LENGTH,
  )
  const listenUrl = read(env, 'TASKLANE_LISTEN_URL')
  const demoTimeScale = read(env, 'DEMO_TIME_SCALE')
  const maxBody = read(env, 'TASKLANE_MAX_BODY')
  return Object.freeze({
    databaseUrl: shared(env, SHARED_SETTINGS.databaseUrl),
    listenUrl: listenUrl === undefined ? undefined : checkDatabaseUrl('TASKLANE_LISTEN_URL', listenUrl),
    port: integer('PORT', 8000, 0, 65535),
    host: read(env, 'HOST') ?? '127.0.0.1',
    workers: shared(env, SHARED_SETTINGS.workers),
    maxConnections: shared(env, SHARED_SETTINGS.maxConnections),
    apiToken: apiToken(env),
    schema,
    bossSchema: checkIdentifier(
      'TASKLANE_BOSS_SCHEMA',
      read(env, 'TASKLANE_BOSS_SCHEMA') ?? defaultBossSchema(schema),
    ),
    dbBackend: checkOneOf('TASKLANE_DB_BACKEND', read(env, 'TASKLANE_DB_BACKEND') ?? 'postgres', [
      'postgres',
      'citus',
      'cockroachdb',
      'yugabytedb',
    ] as const),
    logLevel: checkOneOf('LOG_LEVEL', read(env, 'LOG_LEVEL') ?? 'info', [
      'fatal',
      'error',
      'warn',
      'info',
      'debug',
      'trace',
      'silent',
    ] as const),
    heartbeatTimeoutMs: shared(env, SHARED_SETTINGS.heartbeatTimeout),
    pollIntervalMs: shared(env, SHARED_SETTINGS.pollInterval),
    shutdownTimeoutMs: duration('TASKLANE_SHUTDOWN_TIMEOUT', '30s', '0ms', '1h'),
    retentionCompletedMs: duration('TASKLANE_RETENTION_COMPLETED', '30d', '1h', '3650d'),
    retentionFailedMs: duration('TASKLANE_RETENTION_FAILED', '90d', '1h', '3650d'),
    retentionRollupMs: shared(env, SHARED_SETTINGS.rollupRetention),
    migrateOnStart: shared(env, SHARED_SETTINGS.migrate),
    statsWindowMs: duration('TASKLANE_STATS_WINDOW', '5m', '10s', '24h'),
    threads: shared(env, SHARED_SETTINGS.threads),
    memoryPoolMb: shared(env, SHARED_SETTINGS.memoryPoolMb),
    enableProfiling: shared(env, SHARED_SETTINGS.enableProfiling),
    maxBodyBytes: maxBody === undefined ? 1024 * 1024 : checkBytes('TASKLANE_MAX_BODY', maxBody),
    embeddedDataDir: read(env, 'TASKLANE_DATA_DIR') ?? '.tasklane/pgdata',
    embeddedPort: integer('TASKLANE_EMBEDDED_PORT', 54329, 1024, 65535),
    demoTimeScale: demoTimeScale === undefined ? 1 : checkNumber('DEMO_TIME_SCALE', demoTimeScale, 0, 1000),
    tasksModule: read(env, 'TASKLANE_TASKS'),
  })
}
