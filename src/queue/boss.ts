import pg from 'pg'
import { PgBoss } from 'pg-boss'
import type { Config } from '../config.ts'
import type { Logger } from '../logger.ts'

// Adapters running pg-boss's statements on a caller's transaction (enqueue/caller-db.ts).
export { fromDrizzle, fromKnex, fromKysely, fromPrisma } from 'pg-boss'
export type { PgBoss }

export interface CreateBossOptions {
  connectionString: string
  config: Pick<Config, 'bossSchema' | 'dbBackend' | 'heartbeatTimeoutMs'>
  /** Run pg-boss's supervisor (expiry, lost heartbeats, retention) in this process. */
  supervise: boolean
  max?: number
  /**
   * Send the planner settings below in the `options` startup parameter (default true). False where
   * the pooler in front refuses that parameter: see {@link startupOptionsSupport}.
   */
  plannerOptions?: boolean
  log: Logger
}

// Startup parameters pg-boss's pool sends (see createBoss for why).
const PLANNER_OPTIONS = '-c enable_bitmapscan=off -c enable_sort=off -c plan_cache_mode=force_custom_plan'

/** A custom setting sent with the planner settings: it reads back only where `options` was applied. */
const OPTIONS_MARKER = 'tasklane.startup_options'

/**
 * What a server does with settings in the `options` startup parameter:
 * - `'applied'`: PostgreSQL itself (directly, or through a pooler that forwards them);
 * - `'dropped'`: accepted and not applied, which is PgBouncer when `ignore_startup_parameters` lists
 *   `options`, and so a pooler: session state such as locks may outlive the client there;
 * - `'refused'`: PgBouncer without that setting ("unsupported startup parameter: options").
 *
 * Any other failure counts as `'applied'`: the real connection attempt reports it.
 * @example const options = await startupOptionsSupport(url) // 'applied' on a direct URL
 */
export async function startupOptionsSupport(
  connectionString: string,
): Promise<'applied' | 'dropped' | 'refused'> {
  const client = new pg.Client({
    connectionString,
    options: `${PLANNER_OPTIONS} -c ${OPTIONS_MARKER}=on`,
    application_name: 'tasklane-probe',
    connectionTimeoutMillis: 5_000,
  })
  client.on('error', () => {})
  try {
    await client.connect()
    const { rows } = await client.query<{ marker: string | null }>(
      'select current_setting($1, true) as marker',
      [OPTIONS_MARKER],
    )
    return rows[0]?.marker === 'on' ? 'applied' : 'dropped'
  } catch (err) {
    return /unsupported startup parameter/i.test((err as Error).message) ? 'refused' : 'applied'
  } finally {
    await client.end().catch(() => {})
  }
}

/**
 * pg-boss configured the way tasklane uses it: its schema and leasing primitives, our own worker loop.
 * pg-boss's own polling workers are never started (we call fetch/complete/fail directly).
 */
export function createBoss({
  connectionString,
  config,
  supervise,
  max = 4,
  plannerOptions = true,
  log,
}: CreateBossOptions): PgBoss {
  // Lost heartbeats are detected by pg-boss's monitor pass; run it often enough that a dead worker's
  // tasks come back within the heartbeat timeout plus a few seconds.
  const monitorSeconds = Math.max(1, Math.min(10, Math.floor(config.heartbeatTimeoutMs / 5000)))
  const boss = new PgBoss({
    connectionString,
    schema: config.bossSchema,
    backend: config.dbBackend,
    max,
    application_name: 'tasklane-boss',
    // pg-boss's pool serves the lease (fetch) and heartbeats. The lease must walk the fetch index
    // job_i11 in order; on a queue whose statistics were taken while it was empty the planner
    // instead bitmap-scans and sorts the whole backlog (measured: 343 ms instead of 1.6 ms per
    // fetch with 20k ready jobs). Taking bitmap scans and sorts off the table for this pool keeps
    // the ordered index scan whatever the statistics say. The lease runs there as a named statement
    // (named-statements.ts), planned for its own parameters every time: a cached generic plan, made
    // from the statistics of a table that looked empty, updated the leased rows by walking every job
    // of the queue on (name, created_on) (e2e-batch settled 1.7k tasks/s beside 16k enqueued).
    // (Through PgBouncer these session settings are refused or dropped: docs/operations.md.)
    ...(plannerOptions ? { options: PLANNER_OPTIONS } : {}),
    migrate: false,
    supervise,
    // Schedules are tasklane's own (src/schedule/): they keep local time across DST and fire with the
    // task definition deployed at the time. pg-boss's cron stays off.
    schedule: false,
    superviseIntervalSeconds: monitorSeconds,
    monitorIntervalSeconds: monitorSeconds,
    registerInstance: false,
    useListenNotify: false,
    persistWarnings: false,
    monitorVacuum: false,
    reindex: false,
    // tasklane makes its own spans, one per task (docs/observability.md). pg-boss's would add a span
    // per fetch (empty polls included) and per group-commit insert, the latter attributed to whichever
    // caller's context happened to be current.
    openTelemetry: { enabled: false },
  })
  boss.on('error', (err: unknown) => log.warn({ err }, 'pg-boss error'))
  boss.on('warning', (warning: unknown) => log.debug({ warning }, 'pg-boss warning'))
  return boss
}

/** Installs or upgrades pg-boss's schema (pg-boss serialises concurrent installs with an advisory lock). */
export async function migrateBoss(
  connectionString: string,
  config: CreateBossOptions['config'],
  log: Logger,
) {
  const boss = new PgBoss({
    connectionString,
    schema: config.bossSchema,
    backend: config.dbBackend,
    max: 2,
    application_name: 'tasklane-migrate',
    migrate: true,
    supervise: false,
    schedule: false,
    registerInstance: false,
  })
  boss.on('error', (err: unknown) => log.warn({ err }, 'pg-boss error during migration'))
  await boss.start()
  await boss.stop({ graceful: false, close: true })
}

/**
 * pg-boss's own pool, for tasklane's statements that must run with its planner settings (the lease)
 * as named statements. pg-boss keeps it on its database object once started; null before that, or
 * should a pg-boss version keep it elsewhere (the caller then runs the statement through pg-boss's
 * executeSql, unnamed).
 */
export function bossPool(boss: PgBoss): pg.Pool | null {
  const pool = (boss.getDb() as { pool?: Partial<pg.Pool> }).pool
  return typeof pool?.query === 'function' ? (pool as pg.Pool) : null
}

/** pg-boss's command answer (its .d.ts declares it empty): what was asked, what changed. */
export interface BossCommandResult {
  jobs: string[]
  requested: number
  affected: number
  /** Ids actually settled, where the statement reports them. */
  settled?: string[]
}

export function commandResult(response: unknown): BossCommandResult {
  return response as BossCommandResult
}
