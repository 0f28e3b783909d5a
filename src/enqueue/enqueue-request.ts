import { randomUUID } from 'node:crypto'
import { isDeepStrictEqual } from 'node:util'
import { v7 as uuidv7 } from 'uuid'
import { type Duration, parseDuration } from '../duration.ts'
import { TasklaneError } from '../errors.ts'
import { type CanonicalRequest, canonicalRequest } from '../idempotency/canonical-request.ts'
import {
  normalizeRetry,
  type RetryOptions,
  type RetryPolicy,
  type TaskDefinition,
} from '../tasks/define-task.ts'
import { parsePriority, type TaskPriority } from '../tasks/priority.ts'
import type { TraceCarrier } from '../telemetry/trace-context.ts'
import { parseInstant } from './instant.ts'
import { assertJson, unstorableText } from './json-args.ts'

/**
 * Per-call options of `tasks.addTask()` and `addTasks()` (which also take `db`, the caller's
 * transaction). Every value is checked before anything is written: an invalid one throws a
 * TasklaneError `validation_failed` whose details name the field (`retry`, checked like
 * defineTask's, throws a TypeError). docs/values.md says what is kept exactly and what is refused.
 * @example
 * await tasks.addTask(sendReminder, { userId: 'u1' }, {
 *   priority: 'high',
 *   delay: '10m',
 *   idempotencyKey: 'reminder:u1:2026-11-28',
 * })
 */
export interface EnqueueOptions {
  /** This task's priority: a TaskPriority or its lowercase name (`'high'`). Default: the task's. */
  priority?: TaskPriority | Lowercase<TaskPriority>
  /**
   * Run no sooner than this from now (the database's clock), to the millisecond; at most 10 years. Not
   * with `startAfter`. Default: at once.
   */
  delay?: Duration
  /**
   * Run no sooner than this instant: a Date, or an ISO 8601 string with `Z` or an offset
   * (`'2031-01-01T09:00:00Z'`); years 1 to 9999, at most millisecond precision. A past instant runs
   * at once. Not with `delay`.
   */
  startAfter?: Date | string
  /**
   * 1 to 200 characters. The same key with the same request (compared by meaning: docs/values.md)
   * returns the same taskId with `deduplicated: true`; with a different request it throws a
   * TasklaneError `idempotency_conflict`. Keys are kept as long as completed tasks' history
   * (TASKLANE_RETENTION_COMPLETED, 30 days by default). addTasks takes a key only for one task.
   */
  idempotencyKey?: string
  /** Overrides parts of the task's retry policy for this task; the rest stay the task's. */
  retry?: RetryOptions
}

/** A validated request to enqueue one task: everything needed to write it, nothing left to check. */
export interface EnqueueRequest {
  id: string
  task: TaskDefinition<any, any>
  /** The args as sent (their JSON form): what is stored, and what the task's schema parses at run time. */
  args: unknown
  priority: TaskPriority
  /** pg-boss startAfter: an ISO instant, or an interval relative to the database clock. */
  startAfter: string | null
  /** The absolute start asked for (epoch ms), or null: judged against the database's clock on write. */
  startAfterMs: number | null
  deferred: boolean
  idempotencyKey: string | null
  /** What the request means, compared (hashed by PostgreSQL) when an idempotency key is reused. */
  canonical: CanonicalRequest
  retry: RetryPolicy
  /** The enqueue span's context, set only while tracing is on; stored in the job's data as `trace`. */
  traceContext?: TraceCarrier
}

/**
 * What an enqueue answers (`addTask`, each item of `addTasks`, `POST /tasks/:name`): the task is
 * written, and committed unless it was enqueued in the caller's transaction.
 * @example
 * const { taskId, status } = await tasks.addTask(sendReminder, { userId: 'u1' }, { delay: '10m' })
 * // status: 'scheduled'
 */
export interface EnqueueResult {
  /** The task's id, a UUID: pass it to getTask, waitFor, cancel, … */
  taskId: string
  /** The task's name. */
  task: string
  /** The queue it runs in. */
  queue: string
  /** Its priority (the option given, or the task's default). */
  priority: TaskPriority
  /** `'scheduled'` when the start asked for is in the future (by the database's clock), else `'queued'`. */
  status: 'queued' | 'scheduled'
  /** True when the idempotency key was used before with the same request: `taskId` is that task's. */
  deduplicated: boolean
}

const MAX_KEY_LENGTH = 200
const MAX_DELAY_MS = 3650 * 86_400_000

function validationError(message: string, path?: string): TasklaneError {
  return new TasklaneError('validation_failed', message, [{ ...(path ? { path } : {}), message }])
}

/**
 * Checks one enqueue call before anything is written: args against JSON and the task's schema,
 * priority, delay/startAfter, idempotency key and retry override. Throws a TasklaneError (400)
 * naming the field.
 *
 * The args stored are the args sent; the schema is applied once, when the task runs, to what was
 * stored — here it only checks that it will accept them. Args that JSON would change (a Date, a
 * Map, a class instance) are refused unless the task's schema turns their stored form back into
 * the same value (e.g. `z.coerce.date()`), since `run` receives what the schema makes of the
 * stored JSON.
 */
export function buildRequest(
  task: TaskDefinition<any, any>,
  args: unknown,
  opts: EnqueueOptions = {},
): EnqueueRequest {
  const storedArgs = checkArgs(task, args === undefined ? null : args)
  const priority = opts.priority === undefined ? task.priority : parsePriority(opts.priority)
  if (!priority) {
    throw validationError(
      `priority ${JSON.stringify(opts.priority)} is invalid: use critical, high, normal or low`,
      'priority',
    )
  }
  if (opts.delay !== undefined && opts.startAfter !== undefined) {
    throw validationError('give either delay or startAfter, not both', 'delay')
  }
  let startAfter: string | null = null
  let deferred = false
  let delayMs: number | null = null
  let startAfterMs: number | null = null
  if (opts.delay !== undefined) {
    delayMs = parseDuration(opts.delay)
    if (delayMs === null || delayMs > MAX_DELAY_MS) {
      throw validationError(
        `delay ${JSON.stringify(opts.delay)} is invalid: use whole milliseconds or a string like '250ms', '30s', '10m', '2h' (up to 10 years)`,
        'delay',
      )
    }
    if (delayMs > 0) {
      // Relative to the database clock (pg-boss adds it to its now()), to the millisecond.
      startAfter = `${delayMs} milliseconds`
      deferred = true
    }
  } else if (opts.startAfter !== undefined) {
    const at = parseInstant(opts.startAfter)
    if ('problem' in at) {
      throw validationError(
        `startAfter ${JSON.stringify(opts.startAfter)} is invalid: ${at.problem}`,
        'startAfter',
      )
    }
    startAfterMs = at.ms
    startAfter = new Date(at.ms).toISOString()
    // Provisional: the writer judges it against the database's clock (judgeStarts), which decides
    // when the task becomes ready.
    deferred = at.ms > Date.now()
  }
  const key = opts.idempotencyKey
  if (key !== undefined && (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH)) {
    throw validationError(
      `idempotencyKey must be a string of 1 to ${MAX_KEY_LENGTH} characters`,
      'idempotencyKey',
    )
  }
  const keyProblem = key === undefined ? null : unstorableText(key)
  if (keyProblem) throw validationError(`idempotencyKey ${keyProblem}`, 'idempotencyKey')
  const retry = opts.retry
    ? normalizeRetry({ ...policyToOptions(task.retry), ...opts.retry }, 'retry')
    : task.retry
  return {
    // Time-ordered (UUIDv7, monotonic within the process): tasks of one transaction share created_on,
    // and the id is what keeps them in insertion order when leased (byLeaseOrder) and listed.
    id: uuidv7(),
    task,
    args: storedArgs,
    priority,
    startAfter,
    startAfterMs,
    deferred,
    idempotencyKey: key ?? null,
    canonical: canonicalRequest({
      task: task.name,
      queue: task.queue,
      args: storedArgs,
      priority,
      startAfterMs,
      delayMs,
      retry,
    }),
    retry,
  }
}

/** The args to store for `sent`, after checking them against JSON and the task's schema. */
function checkArgs(task: TaskDefinition<any, any>, sent: unknown): unknown {
  let changed: string | null
  try {
    changed = assertJson(sent)
  } catch (err) {
    throw validationError((err as Error).message, 'args')
  }
  // What the database will hold, and what the schema will parse at run time.
  const stored = changed === null ? sent : JSON.parse(JSON.stringify(sent))
  if (!task.schema) {
    if (changed) throw notJson(task, changed, 'it has no schema to read the stored form back')
    return stored
  }
  const parsed = task.schema.safeParse(stored)
  if (!parsed.success) {
    const details = parsed.error.issues.map((i) => ({
      path: ['args', ...i.path.map(String)].join('.'),
      message: i.message,
    }))
    const first = details[0]
    const why = first ? `${first.path}: ${first.message}` : 'schema rejected them'
    if (changed) throw notJson(task, changed, `its schema rejects the stored form (${why})`, details)
    throw new TasklaneError('validation_failed', `args for task '${task.name}' are invalid: ${why}`, details)
  }
  if (changed) {
    // The schema reads the stored form back: accepted only if it yields what the sent value would.
    const direct = task.schema.safeParse(sent)
    if (!direct.success || !isDeepStrictEqual(direct.data, parsed.data)) {
      throw notJson(task, changed, 'its schema does not read the stored form back as the same value')
    }
  }
  return stored
}

function notJson(
  task: TaskDefinition<any, any>,
  changed: string,
  why: string,
  details?: { path: string; message: string }[],
): TasklaneError {
  const path = /^args[.[\w\]]*/.exec(changed)?.[0] ?? 'args'
  const message = `args for task '${task.name}' cannot be stored as sent: ${changed}, which JSON stores as something else, and ${why}. Pass plain JSON (e.g. an ISO string for a date), or give the task a schema that converts it back (e.g. z.coerce.date())`
  return new TasklaneError('validation_failed', message, details ?? [{ path, message }])
}

function policyToOptions(p: RetryPolicy): RetryOptions {
  return {
    limit: p.limit,
    delay: p.delayMs,
    backoff: p.backoff,
    ...(p.maxDelayMs !== null ? { maxDelay: p.maxDelayMs } : {}),
  }
}

export function resultFor(r: EnqueueRequest, taskId: string, deduplicated: boolean): EnqueueResult {
  return {
    taskId,
    task: r.task.name,
    queue: r.task.queue,
    priority: r.priority,
    status: r.deferred ? 'scheduled' : 'queued',
    deduplicated,
  }
}

export { randomUUID }
