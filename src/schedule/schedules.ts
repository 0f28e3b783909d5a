import type { Kysely } from 'kysely'
import type { Database } from '../db/database.ts'
import { buildRequest } from '../enqueue/enqueue-request.ts'
import { parseInstant } from '../enqueue/instant.ts'
import { unstorableText } from '../enqueue/json-args.ts'
import { TasklaneError } from '../errors.ts'
import type { TaskRegistry } from '../tasks/registry.ts'
import { type CronSpec, MAX_PREVIEW_COUNT, nextRuns, parseCron } from './cron-slots.ts'
import {
  databaseNow,
  deleteSchedule,
  findSchedule,
  listScheduleRows,
  type ScheduleRow,
  upsertSchedule,
} from './schedule.repository.ts'

export interface ScheduleDeps {
  db: Kysely<Database>
  registry: TaskRegistry
  /** The clock (tests inject one); default: the database's clock. */
  clock?: () => Date
}

/**
 * Options of `tasks.schedule()`. Any other key is refused (validation_failed naming it).
 * @example
 * await tasks.schedule('send-digest', '0 8 * * 1', { list: 'weekly' }, { tz: 'Europe/Paris', key: 'weekly' })
 */
export interface ScheduleOptions {
  /**
   * IANA time zone the expression is read in, such as `'Europe/Berlin'` (default `'UTC'`); an unknown
   * zone is refused naming `tz`.
   */
  tz?: string
  /**
   * Names the schedule, so one task can have several: 1 to 200 characters (default: the task name).
   * Scheduling again with the same task and key replaces that schedule.
   */
  key?: string
}

/**
 * A schedule as `tasks.listSchedules()` returns it (ordered by task, then key). Instants are ISO 8601
 * strings in UTC.
 * @example
 * for (const s of await tasks.listSchedules()) {
 *   console.log(`${s.task}/${s.key}: ${s.cron} (${s.timezone}), next at ${s.nextRuns[0]}`)
 * }
 */
export interface ScheduleInfo {
  /** The task it enqueues. */
  task: string
  /** The schedule's name (ScheduleOptions.key; the task name by default). */
  key: string
  /** The cron expression, as given: 5 fields, or 6 with seconds first. */
  cron: string
  /** The IANA time zone the expression is read in. */
  timezone: string
  /** The args each run is enqueued with (JSON). */
  args: unknown
  /** The next instants it runs, oldest first (the first is the pending slot). */
  nextRuns: string[]
  /** The slot it last fired for; null if it has not fired yet. */
  lastRunAt: string | null
  /**
   * The id of the task its last firing enqueued; null if it has not fired yet, or its last slot was
   * skipped because its args no longer pass the task's schema (logged).
   */
  lastTaskId: string | null
  /** When the schedule was first made. */
  createdAt: string
  /** When it was last scheduled again (schedule() with the same task and key). */
  updatedAt: string
}

const OPTION_KEYS = new Set(['tz', 'key'])
const MAX_KEY_LENGTH = 200

function invalid(path: string, message: string): TasklaneError {
  return new TasklaneError('validation_failed', message, [{ path, message }])
}

/**
 * Validates every part of a schedule() call, naming the part that is wrong: `task`, `cron` (or
 * `cron.<field>`), `args` (against the task's schema), `tz`, `key`, or an unknown option.
 */
export function checkSchedule(
  registry: TaskRegistry,
  taskName: unknown,
  cron: unknown,
  args: unknown,
  opts: unknown,
): { spec: CronSpec; key: string; args: unknown; task: string } {
  if (typeof taskName !== 'string' || !registry.get(taskName)) {
    const known = registry.names().slice(0, 20).join(', ') || '(none)'
    throw invalid(
      'task',
      `schedule() names unknown task ${JSON.stringify(taskName)}: known tasks are ${known}`,
    )
  }
  const task = registry.require(taskName)
  if (opts !== undefined && (opts === null || typeof opts !== 'object' || Array.isArray(opts))) {
    throw invalid('options', 'schedule() options must be an object like { tz, key }')
  }
  const o = (opts ?? {}) as Record<string, unknown>
  for (const k of Object.keys(o)) {
    if (!OPTION_KEYS.has(k)) {
      const hint = k === 'timezone' ? " (did you mean 'tz'?)" : ''
      throw invalid(k, `schedule() has no option '${k}'${hint}: the options are tz and key`)
    }
  }
  const spec = parseCron(cron, o.tz ?? 'UTC')
  const key = o.key ?? task.name
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw invalid('key', `key must be a string of 1 to ${MAX_KEY_LENGTH} characters`)
  }
  const keyProblem = unstorableText(key)
  if (keyProblem) throw invalid('key', `key ${keyProblem}`)
  // Args are checked like addTask's (JSON, the task's schema), naming args.<field>.
  const request = buildRequest(task, args, {})
  return { spec, key, args: request.args, task: task.name }
}

/**
 * Creates or replaces the schedule (task, key). Its slots run by the DST rule of cron-slots.ts, each
 * once across replicas, with the task definition deployed when the slot fires.
 */
export async function scheduleTask(
  d: ScheduleDeps,
  taskName: string,
  cron: string,
  args: unknown,
  opts: ScheduleOptions | undefined,
): Promise<void> {
  const checked = checkSchedule(d.registry, taskName, cron, args, opts)
  const now = d.clock?.() ?? (await databaseNow(d.db))
  const nextRunAt = nextRuns(checked.spec, now, 1)[0]
  if (!nextRunAt) throw invalid('cron', `cron "${checked.spec.expression}" never runs again`)
  await upsertSchedule(d.db, {
    task: checked.task,
    key: checked.key,
    cron: checked.spec.expression,
    tz: checked.spec.tz,
    args: checked.args,
    nextRunAt,
  })
}

/** Removes the schedule (task, key). Returns whether there was one. */
export async function unscheduleTask(d: ScheduleDeps, taskName: string, key?: string): Promise<boolean> {
  if (typeof taskName !== 'string' || taskName === '') throw invalid('task', 'task must be a task name')
  return deleteSchedule(d.db, taskName, key ?? taskName)
}

/** Every schedule, with its next `count` run instants. */
export async function listSchedules(d: ScheduleDeps, count = 5): Promise<ScheduleInfo[]> {
  const rows = await listScheduleRows(d.db)
  return rows.map((r) => toInfo(r, count))
}

/** The next `count` instants the schedule (task, key) runs, starting with its pending slot. */
export async function scheduleRuns(d: ScheduleDeps, taskName: string, key: string, count: number) {
  const row = await findSchedule(d.db, taskName, key)
  return row ? toInfo(row, count).nextRuns : null
}

/**
 * The next `count` instants an expression runs after `from` (default now, database clock), by the
 * same computation that fires schedules. Throws validation_failed naming cron, tz or count.
 */
export async function previewSchedule(
  d: Pick<ScheduleDeps, 'db' | 'clock'>,
  cron: string,
  opts: { tz?: string; count?: number; from?: Date | string } = {},
): Promise<string[]> {
  const spec = parseCron(cron, opts.tz ?? 'UTC')
  const count = checkCount(opts.count ?? 5)
  let from: Date
  if (opts.from !== undefined) {
    const instant = parseInstant(opts.from)
    if ('problem' in instant)
      throw invalid('from', `from ${JSON.stringify(opts.from)} is invalid: ${instant.problem}`)
    from = new Date(instant.ms)
  } else from = d.clock?.() ?? (await databaseNow(d.db))
  return nextRuns(spec, from, count).map((t) => t.toISOString())
}

export function checkCount(count: unknown): number {
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > MAX_PREVIEW_COUNT) {
    throw invalid('count', `count must be a whole number from 1 to ${MAX_PREVIEW_COUNT}`)
  }
  return count
}

function toInfo(r: ScheduleRow, count: number): ScheduleInfo {
  const pending = new Date(r.next_run_at)
  let runs: Date[] = [pending]
  try {
    runs = [pending, ...nextRuns(parseCron(r.cron, r.tz), pending, count - 1)]
  } catch {
    // An invalid row (written by hand): its pending slot is all that is known.
  }
  return {
    task: r.task,
    key: r.key,
    cron: r.cron,
    timezone: r.tz,
    args: r.args,
    nextRuns: runs.slice(0, count).map((t) => t.toISOString()),
    lastRunAt: r.last_run_at ? new Date(r.last_run_at).toISOString() : null,
    lastTaskId: r.last_task_id,
    createdAt: new Date(r.created_at).toISOString(),
    updatedAt: new Date(r.updated_at).toISOString(),
  }
}
