import type { Kysely } from 'kysely'
import { databaseNow } from '../db/clock.repository.ts'
import type { Database } from '../db/database.ts'
import { insertJobs } from '../enqueue/enqueue-writer.ts'
import { TasklaneError } from '../errors.ts'
import type { EventPublisher } from '../events/event-publisher.ts'
import { notifyEvents } from '../events/notify.repository.ts'
import { deleteHistory, findHistory, insertHistory } from '../history/history.repository.ts'
import { canonicalRequest } from '../idempotency/canonical-request.ts'
import { commandResult, fromKysely, type PgBoss } from '../queue/boss.ts'
import { findJob } from '../queue/job.repository.ts'
import { normalizeRetry } from '../tasks/define-task.ts'
import { fromBossPriority } from '../tasks/priority.ts'
import type { TaskRegistry } from '../tasks/registry.ts'
import { liveStatus } from './task-info.ts'
import { isTaskId } from './task-reader.ts'

export interface ControlDeps {
  db: Kysely<Database>
  boss: PgBoss
  bossSchema: string
  registry: TaskRegistry
  publisher: EventPublisher
  heartbeatSeconds: number
  queues: () => string[]
}

function notFound(taskId: string): TasklaneError {
  return new TasklaneError('not_found', `no task with id '${taskId}'`)
}

/**
 * Cancels a task. A queued or scheduled task never runs; a running one is marked cancelled and every
 * process is told to abort it (its ctx.signal fires). Its history row is written in the same transaction.
 */
export async function cancelTask(d: ControlDeps, taskId: string): Promise<void> {
  if (!isTaskId(taskId)) throw notFound(taskId)
  const job = await findJob(d.db, d.bossSchema, d.queues(), taskId)
  if (!job) {
    const history = await findHistory(d.db, taskId)
    if (history) throw conflict(taskId, history.status, 'cancelled')
    throw notFound(taskId)
  }
  if (!['created', 'retry', 'active'].includes(job.state))
    throw conflict(taskId, liveStatus(job), 'cancelled')
  const task = job.data?.task ?? 'unknown'
  const cancelled = await d.db.transaction().execute(async (trx) => {
    const response = commandResult(await d.boss.cancel(job.queue, taskId, { db: fromKysely(trx) }))
    if (response.affected === 0) return false
    const now = await databaseNow(trx)
    await insertHistory(trx, [
      {
        taskId,
        task,
        queue: job.queue,
        priority: job.priority,
        status: 'cancelled',
        args: job.data?.args ?? null,
        attempts: job.started_on ? job.retry_count + 1 : 0,
        maxAttempts: job.retry_limit + 1,
        createdAt: job.created_on,
        startAfter: job.start_after,
        startedAt: job.state === 'active' ? job.started_on : null,
        finishedAt: now,
      },
    ])
    const at = now.toISOString()
    await notifyEvents(trx, [
      { type: 'cancel', taskId, at },
      { type: 'status', taskId, task, queue: job.queue, status: 'cancelled', at },
    ])
    return true
  })
  if (!cancelled) {
    const now = await findJob(d.db, d.bossSchema, d.queues(), taskId)
    throw conflict(taskId, now ? liveStatus(now) : 'finished', 'cancelled')
  }
}

/** Runs a failed or cancelled task again (one more attempt); its previous outcome leaves history. */
export async function retryTask(d: ControlDeps, taskId: string): Promise<void> {
  if (!isTaskId(taskId)) throw notFound(taskId)
  const [job, history] = await Promise.all([
    findJob(d.db, d.bossSchema, d.queues(), taskId),
    findHistory(d.db, taskId),
  ])
  if (!job && !history) throw notFound(taskId)
  const state = job ? job.state : history!.status
  if (state !== 'failed' && state !== 'cancelled') {
    throw conflict(taskId, job ? liveStatus(job) : history!.status, 'retried')
  }
  await d.db.transaction().execute(async (trx) => {
    await deleteHistory(trx, taskId)
    if (job) {
      const db = fromKysely(trx)
      const response = commandResult(
        state === 'failed'
          ? await d.boss.retry(job.queue, taskId, { db })
          : await d.boss.resume(job.queue, taskId, { db }),
      )
      if (response.affected === 0) throw conflict(taskId, 'changed meanwhile', 'retried')
    } else {
      // pg-boss's retention already removed the job: enqueue it again under the same id.
      const h = history!
      const task = d.registry.require(h.task)
      const priority = fromBossPriority(h.priority)
      const retry = normalizeRetry(
        { ...task.retry, delay: task.retry.delayMs, maxDelay: task.retry.maxDelayMs ?? undefined },
        'retry',
      )
      await insertJobs(trx, d, [
        {
          id: taskId,
          task,
          args: h.args,
          priority,
          startAfter: null,
          startAfterMs: null,
          deferred: false,
          idempotencyKey: null,
          // No key, so never compared; kept whole so the request type has one shape.
          canonical: canonicalRequest({
            task: task.name,
            queue: task.queue,
            args: h.args,
            priority,
            startAfterMs: null,
            delayMs: null,
            retry,
          }),
          retry,
        },
      ])
    }
    const info = job ?? history!
    const name = job ? (job.data?.task ?? 'unknown') : history!.task
    await notifyEvents(trx, [
      {
        type: 'status',
        taskId,
        task: name,
        queue: info.queue,
        status: 'queued',
        at: (await databaseNow(trx)).toISOString(),
      },
    ])
  })
}

function conflict(taskId: string, status: string, verb: 'cancelled' | 'retried'): TasklaneError {
  const allowed = verb === 'cancelled' ? 'queued, scheduled, retrying or running' : 'failed or cancelled'
  return new TasklaneError(
    'state_conflict',
    `task ${taskId} is ${status}: only ${allowed} tasks can be ${verb}`,
  )
}
