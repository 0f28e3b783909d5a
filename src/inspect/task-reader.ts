import type { Kysely } from 'kysely'
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
import { findJob, type JobRow, listJobs, queuePosition } from '../queue/job.repository.ts'
import { liveSlotsForQueue } from '../workers/worker-process.repository.ts'
import { fromHistory, fromJob, type TaskInfo } from './task-info.ts'

export interface ListTasksFilter {
  status?: TaskStatus
  task?: string
  queue?: string
  /** 1–500, default 50. */
  limit?: number
  cursor?: string
}

export interface TaskPage {
  items: TaskInfo[]
  nextCursor: string | null
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const LIVE_STATES: Record<string, { states: JobRow['state'][]; deferred?: boolean }> = {
  scheduled: { states: ['created'], deferred: true },
  queued: { states: ['created'], deferred: false },
  running: { states: ['active'] },
  retrying: { states: ['retry'] },
}

const FAR_FUTURE = '9999-12-31T00:00:00.000Z'
const MAX_UUID = 'ffffffff-ffff-ffff-ffff-ffffffffffff'

export function isTaskId(id: string): boolean {
  return UUID.test(id)
}

/** Reads tasks from live state (pg-boss) or history. */
export class TaskReader {
  readonly #db: Kysely<Database>
  readonly #bossSchema: string
  readonly #queues: () => string[]
  readonly #liveWithinMs: number

  constructor(db: Kysely<Database>, bossSchema: string, queues: () => string[], liveWithinMs: number) {
    this.#db = db
    this.#bossSchema = bossSchema
    this.#queues = queues
    this.#liveWithinMs = liveWithinMs
  }

  async get(taskId: string, { withPosition = true } = {}): Promise<TaskInfo | null> {
    if (!isTaskId(taskId)) return null
    const db = this.#db
    const [history, progress] = await Promise.all([findHistory(db, taskId), findProgress(db, taskId)])
    if (history) return fromHistory(history, progress)
    const job = await findJob(db, this.#bossSchema, this.#queues(), taskId)
    if (!job) return null
    if (['completed', 'failed', 'cancelled'].includes(job.state)) {
      // The task finished between the two reads: its history row committed with that state change.
      const settled = await findHistory(db, taskId)
      if (settled) return fromHistory(settled, await findProgress(db, taskId))
    }
    const info = fromJob(job, progress, job.state === 'retry' ? await this.#lastError(taskId) : undefined)
    if (withPosition && info.status === 'queued') {
      info.position = await queuePosition(db, this.#bossSchema, job)
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
    const [slots, mean] = await Promise.all([
      liveSlotsForQueue(this.#db, queue, this.#liveWithinMs),
      recentMeanDurationMs(this.#db, queue),
    ])
    if (slots === 0) return undefined
    const waves = Math.floor(position / slots)
    return new Date(Date.now() + waves * (mean ?? 0)).toISOString()
  }

  async #lastError(taskId: string): Promise<unknown> {
    const attempts = await listAttempts(this.#db, taskId)
    return attempts.at(-1)?.error ?? undefined
  }

  async attempts(taskId: string) {
    return listAttempts(this.#db, taskId)
  }

  /**
   * Lists tasks newest first. Finished statuses come from history (by finish time), live ones from
   * pg-boss (by creation time); without a status filter, live tasks come first, then history.
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
    const cursor = decodeCursor(filter.cursor)
    const status = filter.status
    const queues = filter.queue ? [filter.queue] : this.#queues()
    const items: TaskInfo[] = []
    let next: string | null = null
    const wantLive = !status || status in LIVE_STATES
    const wantHistory = !status || ['completed', 'failed', 'cancelled'].includes(status)
    if (wantLive && (!cursor || cursor.kind === 'live')) {
      const spec = status
        ? LIVE_STATES[status]!
        : { states: ['created', 'retry', 'active'] as JobRow['state'][] }
      const jobs = await listJobs(this.#db, this.#bossSchema, {
        queues,
        states: spec.states,
        ...(spec.deferred !== undefined ? { deferred: spec.deferred } : {}),
        ...(filter.task ? { task: filter.task } : {}),
        limit: limit + 1,
        ...(cursor?.kind === 'live' ? { after: { createdOn: new Date(cursor.at), id: cursor.id } } : {}),
      })
      const page = jobs.slice(0, limit)
      const progress = await findProgressMany(
        this.#db,
        page.map((j) => j.id),
      )
      items.push(...page.map((j) => fromJob(j, progress.get(j.id) ?? null)))
      if (jobs.length > limit) {
        const last = page.at(-1)!
        return {
          items,
          nextCursor: encodeCursor({
            kind: 'live',
            at: new Date(last.created_on).toISOString(),
            id: last.id,
          }),
        }
      }
    }
    if (wantHistory && items.length >= limit) {
      // The live page filled up exactly: the next page starts at the top of history.
      return { items, nextCursor: encodeCursor({ kind: 'history', at: FAR_FUTURE, id: MAX_UUID }) }
    }
    if (wantHistory) {
      const statuses: HistoryStatus[] = status
        ? [status as HistoryStatus]
        : ['completed', 'failed', 'cancelled']
      const rows = await listHistory(this.#db, {
        statuses,
        ...(filter.task ? { task: filter.task } : {}),
        ...(filter.queue ? { queue: filter.queue } : {}),
        limit: limit - items.length + 1,
        ...(cursor?.kind === 'history'
          ? { after: { finishedAt: new Date(cursor.at), taskId: cursor.id } }
          : {}),
      })
      const page = rows.slice(0, limit - items.length)
      const progress = await findProgressMany(
        this.#db,
        page.map((r) => r.task_id),
      )
      items.push(...page.map((r) => fromHistory(r, progress.get(r.task_id) ?? null)))
      const last = page.at(-1)
      if (rows.length > page.length && last) {
        next = encodeCursor({
          kind: 'history',
          at: new Date(last.finished_at).toISOString(),
          id: last.task_id,
        })
      }
    }
    return { items, nextCursor: next }
  }
}

interface Cursor {
  kind: 'live' | 'history'
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
    if ((c.kind === 'live' || c.kind === 'history') && isTaskId(c.id) && !Number.isNaN(Date.parse(c.at)))
      return c
  } catch {}
  throw new TasklaneError(
    'validation_failed',
    'cursor is invalid: pass the nextCursor of a previous page unchanged',
    [{ path: 'cursor', message: 'invalid cursor' }],
  )
}
