import { createHash, randomUUID } from 'node:crypto'
import { type Duration, parseDuration } from '../duration.ts'
import { TasklaneError } from '../errors.ts'
import {
  normalizeRetry,
  type RetryOptions,
  type RetryPolicy,
  type TaskDefinition,
} from '../tasks/define-task.ts'
import { parsePriority, type TaskPriority, toBossPriority } from '../tasks/priority.ts'
import { assertJson, canonicalJson, unstorableText } from './json-args.ts'

export interface EnqueueOptions {
  priority?: TaskPriority | Lowercase<TaskPriority>
  /** Run no sooner than this from now (database clock). */
  delay?: Duration
  /** Run no sooner than this instant. */
  startAfter?: Date | string
  /** Same key again returns the same taskId with `deduplicated: true`. */
  idempotencyKey?: string
  retry?: RetryOptions
}

/** A validated request to enqueue one task: everything needed to write it, nothing left to check. */
export interface EnqueueRequest {
  id: string
  task: TaskDefinition<any, any>
  args: unknown
  priority: TaskPriority
  /** pg-boss startAfter: an ISO instant, or an interval relative to the database clock. */
  startAfter: string | null
  deferred: boolean
  idempotencyKey: string | null
  requestHash: string
  retry: RetryPolicy
}

export interface EnqueueResult {
  taskId: string
  task: string
  queue: string
  priority: TaskPriority
  status: 'queued' | 'scheduled'
  deduplicated: boolean
}

const MAX_KEY_LENGTH = 200

function validationError(message: string, path?: string): TasklaneError {
  return new TasklaneError('validation_failed', message, [{ ...(path ? { path } : {}), message }])
}

/**
 * Checks one enqueue call before anything is written: args against the task's schema and JSON,
 * priority, delay/startAfter, idempotency key and retry override. Throws a TasklaneError (400)
 * naming the field.
 */
export function buildRequest(
  task: TaskDefinition<any, any>,
  args: unknown,
  opts: EnqueueOptions = {},
): EnqueueRequest {
  let checkedArgs = args === undefined ? null : args
  try {
    assertJson(checkedArgs)
  } catch (err) {
    throw validationError((err as Error).message, 'args')
  }
  if (task.schema) {
    const parsed = task.schema.safeParse(checkedArgs)
    if (!parsed.success) {
      const details = parsed.error.issues.map((i) => ({
        path: ['args', ...i.path.map(String)].join('.'),
        message: i.message,
      }))
      const first = details[0]
      throw new TasklaneError(
        'validation_failed',
        `args for task '${task.name}' are invalid: ${first ? `${first.path}: ${first.message}` : 'schema rejected them'}`,
        details,
      )
    }
    checkedArgs = parsed.data
  }
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
  if (opts.delay !== undefined) {
    const ms = parseDuration(opts.delay)
    if (ms === null || ms > 3650 * 86_400_000) {
      throw validationError(
        `delay ${JSON.stringify(opts.delay)} is invalid: use milliseconds or a string like '30s', '10m', '2h' (up to 10 years)`,
        'delay',
      )
    }
    if (ms > 0) {
      startAfter = `${ms / 1000} seconds`
      deferred = true
    }
  } else if (opts.startAfter !== undefined) {
    const at = opts.startAfter instanceof Date ? opts.startAfter : new Date(String(opts.startAfter))
    if (
      Number.isNaN(at.getTime()) ||
      // Year 0 and earlier parse in JS but not in PostgreSQL (a database error, a 500, otherwise).
      at.getUTCFullYear() < 1 ||
      (typeof opts.startAfter === 'string' && !/^\d{4}-\d\d-\d\dT/.test(opts.startAfter))
    ) {
      throw validationError(
        `startAfter ${JSON.stringify(opts.startAfter)} is invalid: use an ISO 8601 instant like '2026-11-28T09:00:00Z'`,
        'startAfter',
      )
    }
    startAfter = at.toISOString()
    deferred = at.getTime() > Date.now()
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
  const requestHash = createHash('sha256')
    .update(
      canonicalJson({
        task: task.name,
        args: checkedArgs,
        priority,
        delay: opts.delay ?? null,
        startAfter: opts.startAfter ?? null,
      }),
    )
    .digest('base64url')
  return {
    id: randomUUID(),
    task,
    args: checkedArgs,
    priority,
    startAfter,
    deferred,
    idempotencyKey: key ?? null,
    requestHash,
    retry,
  }
}

function policyToOptions(p: RetryPolicy): RetryOptions {
  return {
    limit: p.limit,
    delay: p.delayMs,
    backoff: p.backoff,
    ...(p.maxDelayMs !== null ? { maxDelay: p.maxDelayMs } : {}),
  }
}

export interface BossJobInsert {
  id: string
  data: { task: string; args: unknown }
  priority: number
  startAfter?: string
  retryLimit: number
  retryDelay: number
  retryBackoff: boolean
  retryDelayMax?: number
  expireInSeconds: number
  heartbeatSeconds: number
  deadLetter?: string
}

/** The pg-boss row for a request. */
export function toBossJob(r: EnqueueRequest, heartbeatSeconds: number): BossJobInsert {
  const { task, retry } = r
  return {
    id: r.id,
    data: { task: task.name, args: r.args },
    priority: toBossPriority(r.priority),
    ...(r.startAfter ? { startAfter: r.startAfter } : {}),
    retryLimit: retry.limit,
    retryDelay: Math.ceil(retry.delayMs / 1000),
    retryBackoff: retry.backoff === 'exponential',
    ...(retry.maxDelayMs !== null ? { retryDelayMax: Math.ceil(retry.maxDelayMs / 1000) } : {}),
    // Our own timeout aborts the attempt; pg-boss's expiry is only the backstop for a worker that
    // neither finishes nor dies (its heartbeat keeps the claim alive), so it sits well beyond it.
    expireInSeconds: task.timeoutMs !== null ? Math.ceil(task.timeoutMs / 1000) + 60 : 86_400,
    heartbeatSeconds,
    ...(task.deadLetter ? { deadLetter: task.deadLetter } : {}),
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
