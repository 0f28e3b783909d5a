import { sslProblem } from './db/libpq-ssl.ts'
import { parseDuration } from './duration.ts'

/**
 * The only reader of process.env. Every variable is validated once, here; a bad value fails with a
 * ConfigError naming the variable, the value and what is accepted.
 */
export interface Config {
  /** Postgres connection string; when absent, tasklane starts the embedded Postgres. */
  databaseUrl: string | undefined
  /**
   * A direct (not transaction-pooled) URL for the one LISTEN connection per process, where
   * DATABASE_URL goes through PgBouncer in transaction mode (docs/operations.md). Default: DATABASE_URL.
   */
  listenUrl: string | undefined
  port: number
  host: string
  /** Concurrency of the default queue in this process; 0 runs no workers. */
  workers: number
  /** Most connections one process opens (all pools plus LISTEN): see db/connection-budget.ts. */
  maxConnections: number
  apiToken: string | undefined
  /**
   * Schema of tasklane's own tables, and the one setting that isolates an app: the pg-boss schema,
   * the NOTIFY channel and the advisory-lock keys are all derived from it (docs/operations.md).
   */
  schema: string
  /** Schema pg-boss keeps its queue tables (and cron schedules) in: see {@link defaultBossSchema}. */
  bossSchema: string
  dbBackend: 'postgres' | 'citus' | 'cockroachdb' | 'yugabytedb'
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
  /** A worker process that misses heartbeats this long is presumed dead; its tasks run again. */
  heartbeatTimeoutMs: number
  /** Fallback poll when no NOTIFY arrives (LISTEN unavailable, e.g. PgBouncer transaction mode). */
  pollIntervalMs: number
  shutdownTimeoutMs: number
  retentionCompletedMs: number
  retentionFailedMs: number
  /** Daily rollups (task_rollup) are kept this long, independently of history (default 730 days). */
  retentionRollupMs: number
  /** Apply pending migrations at start(); turn off where deployments migrate separately. */
  migrateOnStart: boolean
  statsWindowMs: number
  /** Worker threads for tasks with mode: 'thread'. */
  threads: number
  /** Memory budget of a worker process in MiB (0 = none): above it, the process stops leasing. */
  memoryPoolMb: number
  enableProfiling: boolean
  /** Largest request body the HTTP API accepts, in bytes. */
  maxBodyBytes: number
  embeddedDataDir: string
  embeddedPort: number
  /** Multiplies every sleep of the demo tasks (tests run the real flows fast). */
  demoTimeScale: number
  /** Module whose `tasks` export `tasklane serve`/`worker` run (default: the built-in demo). */
  tasksModule: string | undefined
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ConfigError'
  }
}

type Env = Record<string, string | undefined>

function read(env: Env, name: string): string | undefined {
  const value = env[name]
  return value === undefined || value.trim() === '' ? undefined : value.trim()
}

function fail(name: string, value: string, accepted: string): never {
  throw new ConfigError(`${name}=${JSON.stringify(value)} is invalid: expected ${accepted}`)
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = read(env, name)
  if (raw === undefined) return fallback
  const n = Number(raw)
  if (!/^-?\d+$/.test(raw) || n < min || n > max) fail(name, raw, `an integer from ${min} to ${max}`)
  return n
}

function number(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = read(env, name)
  if (raw === undefined) return fallback
  const n = Number(raw)
  if (!Number.isFinite(n) || n < min || n > max) fail(name, raw, `a number from ${min} to ${max}`)
  return n
}

function duration(env: Env, name: string, fallback: string, min: string, max: string): number {
  const raw = read(env, name) ?? fallback
  const ms = parseDuration(raw)
  const lo = parseDuration(min)!
  const hi = parseDuration(max)!
  if (ms === null || ms < lo || ms > hi) {
    fail(name, raw, `a duration from ${min} to ${max}, written like '500ms', '30s', '10m', '2h' or '30d'`)
  }
  return ms
}

/** A duration whose consumer counts whole seconds (pg-boss's heartbeat): finer is refused, not rounded. */
function wholeSeconds(env: Env, name: string, ms: number): number {
  if (ms % 1000 !== 0) fail(name, read(env, name) ?? '', 'a whole number of seconds (its granularity is 1 s)')
  return ms
}

function oneOf<T extends string>(env: Env, name: string, fallback: T, values: readonly T[]): T {
  const raw = read(env, name)
  if (raw === undefined) return fallback
  if (!values.includes(raw as T)) fail(name, raw, `one of ${values.join(', ')}`)
  return raw as T
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = read(env, name)
  if (raw === undefined) return fallback
  if (/^(1|true|yes|on)$/i.test(raw)) return true
  if (/^(0|false|no|off)$/i.test(raw)) return false
  return fail(name, raw, 'true or false')
}

function identifier(env: Env, name: string, fallback: string, maxLength = 63): string {
  const raw = read(env, name) ?? fallback
  if (!new RegExp(`^[a-z_][a-z0-9_]{0,${maxLength - 1}}$`).test(raw)) {
    fail(name, raw, `a lower-case SQL identifier ([a-z_][a-z0-9_]*) of at most ${maxLength} characters`)
  }
  return raw
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

function bytes(env: Env, name: string, fallback: number): number {
  const raw = read(env, name)
  if (raw === undefined) return fallback
  const match = /^(\d+)\s*(b|kb|kib|mb|mib)?$/i.exec(raw)
  const unit = (match?.[2] ?? 'b').toLowerCase()
  const n = match
    ? Number(match[1]) * (unit.startsWith('k') ? 1024 : unit.startsWith('m') ? 1024 * 1024 : 1)
    : NaN
  if (!match || n < 1024 || n > 64 * 1024 * 1024)
    fail(name, raw, "a size from 1kb to 64mb, like '1mb' or '512kb'")
  return n
}

function databaseUrl(env: Env, name = 'DATABASE_URL'): string | undefined {
  const raw = read(env, name)
  if (raw === undefined) return undefined
  if (!/^postgres(ql)?:\/\//.test(raw)) fail(name, raw, 'a URL starting with postgres:// or postgresql://')
  const ssl = sslProblem(raw)
  if (ssl) throw new ConfigError(`${name} is invalid: ${ssl}`)
  return raw
}

/** Fewest connections a process can work with: LISTEN, one to lease with, one to settle with. */
export const MIN_CONNECTIONS = 3
/** tasklane's pool 10, pg-boss's 4, LISTEN 1: what every earlier release opened. */
export const DEFAULT_MAX_CONNECTIONS = 15
/** What TASKLANE_MAX_CONNECTIONS accepts, and why no fewer (also the message of the option's check). */
export const MAX_CONNECTIONS_ACCEPTED = `an integer from ${MIN_CONNECTIONS} to 10000: a process needs one LISTEN connection, one for pg-boss to lease with and one for tasklane to settle with (default ${DEFAULT_MAX_CONNECTIONS})`

function maxConnections(env: Env): number {
  const raw = read(env, 'TASKLANE_MAX_CONNECTIONS')
  if (raw === undefined) return DEFAULT_MAX_CONNECTIONS
  const n = Number(raw)
  if (!/^\d+$/.test(raw) || n < MIN_CONNECTIONS || n > 10_000) {
    fail('TASKLANE_MAX_CONNECTIONS', raw, MAX_CONNECTIONS_ACCEPTED)
  }
  return n
}

function apiToken(env: Env): string | undefined {
  const raw = read(env, 'TASKLANE_API_TOKEN')
  if (raw !== undefined && raw.length < 16) {
    fail(
      'TASKLANE_API_TOKEN',
      '<redacted>',
      'at least 16 characters (generate one with: openssl rand -hex 24)',
    )
  }
  return raw
}

// Default, least and most of the rollup retention: the env var and the rollupRetention option share them.
const ROLLUP_RETENTION = ['730d', '1d', '36500d'] as const

/**
 * Validates the `rollupRetention` option (a Duration) with the bounds of TASKLANE_RETENTION_ROLLUP.
 * @example rollupRetentionMs('365d') // 31536000000
 */
export function rollupRetentionMs(value: number | string): number {
  const [, min, max] = ROLLUP_RETENTION
  const ms = parseDuration(value)
  if (ms === null || ms < parseDuration(min)! || ms > parseDuration(max)!) {
    fail('rollupRetention', String(value), `a duration from ${min} to ${max}, like '365d' or '730d'`)
  }
  return ms
}

/**
 * Reads and validates the configuration from the environment.
 * @example const config = loadConfig(process.env)
 */
export function loadConfig(env: Env = process.env): Readonly<Config> {
  const schema = identifier(env, 'TASKLANE_SCHEMA', DEFAULT_SCHEMA, MAX_SCHEMA_LENGTH)
  return Object.freeze({
    databaseUrl: databaseUrl(env),
    listenUrl: databaseUrl(env, 'TASKLANE_LISTEN_URL'),
    port: integer(env, 'PORT', 8000, 0, 65535),
    host: read(env, 'HOST') ?? '127.0.0.1',
    workers: integer(env, 'TASKLANE_WORKERS', 4, 0, 1000),
    maxConnections: maxConnections(env),
    apiToken: apiToken(env),
    schema,
    bossSchema: identifier(env, 'TASKLANE_BOSS_SCHEMA', defaultBossSchema(schema)),
    dbBackend: oneOf(env, 'TASKLANE_DB_BACKEND', 'postgres', [
      'postgres',
      'citus',
      'cockroachdb',
      'yugabytedb',
    ]),
    logLevel: oneOf(env, 'LOG_LEVEL', 'info', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    heartbeatTimeoutMs: wholeSeconds(
      env,
      'TASKLANE_HEARTBEAT_TIMEOUT',
      duration(env, 'TASKLANE_HEARTBEAT_TIMEOUT', '30s', '5s', '1h'),
    ),
    pollIntervalMs: duration(env, 'TASKLANE_POLL_INTERVAL', '1s', '50ms', '60s'),
    shutdownTimeoutMs: duration(env, 'TASKLANE_SHUTDOWN_TIMEOUT', '30s', '0ms', '1h'),
    retentionCompletedMs: duration(env, 'TASKLANE_RETENTION_COMPLETED', '30d', '1h', '3650d'),
    retentionFailedMs: duration(env, 'TASKLANE_RETENTION_FAILED', '90d', '1h', '3650d'),
    retentionRollupMs: duration(env, 'TASKLANE_RETENTION_ROLLUP', ...ROLLUP_RETENTION),
    migrateOnStart: boolean(env, 'TASKLANE_MIGRATE', true),
    statsWindowMs: duration(env, 'TASKLANE_STATS_WINDOW', '5m', '10s', '24h'),
    threads: integer(env, 'TASKLANE_THREADS', 2, 1, 256),
    memoryPoolMb: integer(env, 'TASKLANE_MEMORY_POOL_MB', 0, 0, 1_048_576),
    enableProfiling: boolean(env, 'TASKLANE_PROFILING', false),
    maxBodyBytes: bytes(env, 'TASKLANE_MAX_BODY', 1024 * 1024),
    embeddedDataDir: read(env, 'TASKLANE_DATA_DIR') ?? '.tasklane/pgdata',
    embeddedPort: integer(env, 'TASKLANE_EMBEDDED_PORT', 54329, 1024, 65535),
    demoTimeScale: number(env, 'DEMO_TIME_SCALE', 1, 0, 1000),
    tasksModule: read(env, 'TASKLANE_TASKS'),
  })
}
