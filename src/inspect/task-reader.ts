import type { Kysely } from 'kysely'
import { databaseNow } from '../db/clock.repository.ts'
import type { Database } from '../db/database.ts'
import { TasklaneError } from '../errors.ts'
import type { TaskStatus } from '../events/event-types.ts'
import {
  findHistory,
  type HistoryStatus,
  listAttempts,
  listHistory,
  recentMeanDurationMs,
} from '../history/history.repository.ts'
import { findProgress, findProgressMany } from '../progress/progress.repository.ts'
import type { JobStore } from '../queue/job-store.ts'
import { liveSlotsForQueue } from '../workers/worker-process.repository.ts'
import { fromAttempt, fromHistory, fromJob, type TaskAttempt, type TaskInfo } from './task-info.ts'

/**
 * What `tasks.listTasks()` (and `GET /tasks`) lists; every field given must match. An invalid
 * `limit`, `deadLettered` or `cursor` throws a TasklaneError `validation_failed` naming it.
 * @example await tasks.listTasks({ status: 'failed', task: 'send-reminder', limit: 100 })
 */
export interface ListTasksFilter {
  /** Tasks in this status now. */
  status?: TaskStatus
  /** Tasks of this name. */
  task?: string
  /** Tasks of this queue. */
  queue?: string
  /**
   * true: only tasks parked for a dead-letter queue (failed, retries spent; `deadLetter` names the
   * queue). Combines with the other filters; with a status other than 'failed' nothing matches.
   */
  deadLettered?: boolean
  /** Most tasks on the page: an integer from 1 to 500, default 50. */
  limit?: number
  /** The `nextCursor` of the previous page; absent for the first page. */
  cursor?: string
}

/**
 * One page of `tasks.listTasks()`: tasks newest created first, ordered by (creation time, taskId).
 * @example
 * let cursor: string | undefined
 * do {
 *   const page: TaskPage = await tasks.listTasks({ status: 'failed', ...(cursor ? { cursor } : {}) })
 *   for (const t of page.items) console.log(t.taskId, t.error?.message)
 *   cursor = page.nextCursor ?? undefined
 * } while (cursor)
 */
export interface TaskPage {
  /** The tasks of this page (without `position` and `eta`, which only getTask computes). */
  items: TaskInfo[]
  /** Pass it as `cursor` for the next page; null on the last page. */
  nextCursor: string | null
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
// The statuses a task has while the job store holds it (the others are history's).
const LIVE_STATUSES = ['scheduled', 'queued', 'running', 'retrying'] as const
type LiveListStatus = (typeof LIVE_STATUSES)[number]
const isLiveStatus = (s: string): s is LiveListStatus => (LIVE_STATUSES as readonly string[]).includes(s)

export function isTaskId(id: string): boolean {
  return UUID.test(id)
}

/** Reads tasks from live state (the job store) or history. */
export class TaskReader {
  readonly #db: Kysely<Database>
  readonly #store: JobStore
  readonly #queues: () => string[]
  readonly #liveWithinMs: number

  constructor(db: Kysely<Database>, store: JobStore, queues: () => string[], liveWithinMs: number) {
    this.#db = db
    this.#store = store
    this.#queues = queues
    this.#liveWithinMs = liveWithinMs
  }

  async get(taskId: string, { withPosition = true } = {}): Promise<TaskInfo | null> {
    if (!isTaskId(taskId)) return null
    const db = this.#db
    const [history, progress] = await Promise.all([findHistory(db, taskId), findProgress(db, taskId)])
    if (history) return fromHistory(history, progress)
    const job = await this.#store.find(db, this.#queues(), taskId)
    if (!job) return null
    if (job.ended) {
      // The task finished between the two reads: its history row committed with that state change.
      const settled = await findHistory(db, taskId)
      if (settled) return fromHistory(settled, await findProgress(db, taskId))
    }
    const info = fromJob(job, progress, job.awaitingRetry ? await this.#lastError(taskId) : undefined)
    if (withPosition && info.status === 'queued') {
      info.position = await this.#store.position(db, job)
      const eta = await this.#eta(job.queue, info.position)
      if (eta) info.eta = eta
    }
    return info
  }

  /**
   * Estimated start of a queued task: the tasks ahead of it run in waves of the queue's live worker
   * slots, each wave taking the queue's recent mean run time. None while no worker serves the queue.
   */
  async #eta(queue: string, position: number): Promise<string | undefined> {
    const [slots, mean, now] = await Promise.all([
      liveSlotsForQueue(this.#db, queue, this.#liveWithinMs),
      recentMeanDurationMs(this.#db, queue),
      databaseNow(this.#db),
    ])
    if (slots === 0) return undefined
    const waves = Math.floor(position / slots)
    // From the database's clock, like the task's createdAt and startAfter beside it.
    return new Date(now.getTime() + waves * (mean ?? 0)).toISOString()
  }

  async #lastError(taskId: string): Promise<unknown> {
    const attempts = await listAttempts(this.#db, taskId)
    return attempts.at(-1)?.error ?? undefined
  }

  /** The task's recorded attempts, first first (none for an unknown id). */
  async attempts(taskId: string): Promise<TaskAttempt[]> {
    if (!isTaskId(taskId)) return []
    return (await listAttempts(this.#db, taskId)).map(fromAttempt)
  }

  /**
   * Lists tasks newest created first, live (the job store) and finished (history) alike, keyset-paginated
   * on (creation time to the millisecond, taskId): a key no state change alters, read for both
   * sources from one snapshot. So walking every page lists each task that matches the filter for the
   * whole walk exactly once, however tasks change state meanwhile; a task that enters or leaves the
   * filter during the walk is listed at most once.
   */
  async list(filter: ListTasksFilter = {}): Promise<TaskPage> {
    const limit = filter.limit ?? 50
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) {
      throw new TasklaneError(
        'validation_failed',
        `limit must be an integer from 1 to 500 (got ${filter.limit})`,
        [{ path: 'limit', message: 'must be 1–500' }],
      )
    }
    if (filter.deadLettered !== undefined && typeof filter.deadLettered !== 'boolean') {
      throw new TasklaneError(
        'validation_failed',
        `deadLettered must be true or false (got ${JSON.stringify(filter.deadLettered)})`,
        [{ path: 'deadLettered', message: 'must be a boolean' }],
      )
    }
    const cursor = decodeCursor(filter.cursor)
    const status = filter.status
    const queues = filter.queue ? [filter.queue] : this.#queues()
    const deadLettered = filter.deadLettered === true
    // Dead-lettered tasks are finished (failed): no live task matches.
    const wantLive = !deadLettered && (!status || isLiveStatus(status))
    const wantHistory = deadLettered
      ? !status || status === 'failed'
      : !status || ['completed', 'failed', 'cancelled'].includes(status)
    // One snapshot for both reads: a task's job state and its history row change in one
    // transaction, so in a snapshot it is in exactly one of them (never both, never neither).
    const { jobs, rows } = await this.#db
      .transaction()
      .setIsolationLevel('repeatable read')
      .setAccessMode('read only')
      .execute(async (trx) => {
        const jobs =
          wantLive && (!status || isLiveStatus(status))
            ? await this.#store.list(trx, {
                queues,
                ...(status ? { status } : {}),
                ...(filter.task ? { task: filter.task } : {}),
                limit: limit + 1,
                ...(cursor ? { after: { createdAt: cursor.at, id: cursor.id } } : {}),
              })
            : []
        const statuses: HistoryStatus[] = deadLettered
          ? ['failed']
          : status
            ? [status as HistoryStatus]
            : ['completed', 'failed', 'cancelled']
        const rows = wantHistory
          ? await listHistory(trx, {
              statuses,
              ...(filter.task ? { task: filter.task } : {}),
              ...(filter.queue ? { queue: filter.queue } : {}),
              ...(deadLettered ? { deadLettered } : {}),
              limit: limit + 1,
              ...(cursor ? { after: { createdAt: cursor.at, taskId: cursor.id } } : {}),
            })
          : []
        return { jobs, rows }
      })
    const merged = [
      ...jobs.map((job) => ({ key: listKey(job.createdOn, job.id), job, row: null })),
      ...rows.map((row) => ({ key: listKey(row.created_at, row.task_id), job: null, row })),
    ].sort((a, b) => compareKeys(b.key, a.key))
    const page = merged.slice(0, limit)
    const progress = await findProgressMany(
      this.#db,
      page.map((p) => p.key.id),
    )
    const items = page.map((p) =>
      p.job
        ? fromJob(p.job, progress.get(p.key.id) ?? null)
        : fromHistory(p.row!, progress.get(p.key.id) ?? null),
    )
    const last = page.at(-1)
    const nextCursor =
      merged.length > limit && last
        ? encodeCursor({ at: new Date(last.key.ms).toISOString(), id: last.key.id })
        : null
    return { items, nextCursor }
  }
}

/** A task's place in listings: creation time to the millisecond, then id (both descending). */
interface ListKey {
  ms: number
  id: string
}

function listKey(createdAt: Date, id: string): ListKey {
  return { ms: new Date(createdAt).getTime(), id }
}

function compareKeys(a: ListKey, b: ListKey): number {
  // uuid text order is PostgreSQL's uuid order (both compare the bytes in order, lower-case hex).
  return a.ms - b.ms || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
}

/** The listing key of the last task of a page. (Cursors of earlier releases also carry a `kind`.) */
interface Cursor {
  at: string
  id: string
}

function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url')
}

function decodeCursor(raw: string | undefined): Cursor | null {
  if (!raw) return null
  try {
    const c = JSON.parse(Buffer.from(raw, 'base64url').toString()) as Cursor
    if (
      typeof c.id === 'string' &&
      isTaskId(c.id) &&
      typeof c.at === 'string' &&
      !Number.isNaN(Date.parse(c.at))
    )
      return { at: new Date(c.at).toISOString(), id: c.id.toLowerCase() }
  } catch {}
  throw new TasklaneError(
    'validation_failed',
    'cursor is invalid: pass the nextCursor of a previous page unchanged',
    [{ path: 'cursor', message: 'invalid cursor' }],
  )
}
