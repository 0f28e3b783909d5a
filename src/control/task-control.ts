import type { Kysely } from 'kysely'
import { databaseNow } from '../db/clock.repository.ts'
import type { Database } from '../db/database.ts'
import { buildRequest } from '../enqueue/enqueue-request.ts'
import { writeRequests } from '../enqueue/enqueue-writer.ts'
import { TasklaneError } from '../errors.ts'
import type { EventPublisher } from '../events/event-publisher.ts'
import { notifyEvents } from '../events/notify.repository.ts'
import { deleteHistory, findHistory } from '../history/history.repository.ts'
import { isTaskId } from '../inspect/task-reader.ts'
import { recordOutcomes, snapshotOfJob } from '../outcome/outcome-recorder.ts'
import type { JobStore } from '../queue/job-store.ts'
import { fromBossPriority } from '../tasks/priority.ts'
import type { TaskRegistry } from '../tasks/registry.ts'

export interface ControlDeps {
  db: Kysely<Database>
  store: JobStore
  registry: TaskRegistry
  publisher: EventPublisher
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
  const job = await d.store.find(d.db, d.queues(), taskId)
  if (!job) {
    const history = await findHistory(d.db, taskId)
    if (history) throw conflict(taskId, history.status, 'cancelled')
    throw notFound(taskId)
  }
  if (job.ended) throw conflict(taskId, job.status, 'cancelled')
  const cancelled = await d.db.transaction().execute(async (trx) => {
    if (!(await d.store.cancel(trx, job.queue, taskId))) return false
    const now = await databaseNow(trx)
    await recordOutcomes(
      trx,
      [
        {
          snapshot: snapshotOfJob(job),
          status: 'cancelled',
          // The attempt it ends, if one was running (a retrying task's last one has ended already).
          startedAt: job.status === 'running' ? job.startedAt : null,
          finishedAt: now,
        },
      ],
      // Whichever process runs it aborts it (ctx.signal), once this commits.
      [{ type: 'cancel', taskId, at: now.toISOString() }],
    )
    return true
  })
  if (!cancelled) {
    const now = await d.store.find(d.db, d.queues(), taskId)
    throw conflict(taskId, now ? now.status : 'finished', 'cancelled')
  }
}

/** Runs a failed or cancelled task again (one more attempt); its previous outcome leaves history. */
export async function retryTask(d: ControlDeps, taskId: string): Promise<void> {
  if (!isTaskId(taskId)) throw notFound(taskId)
  const [job, history] = await Promise.all([
    d.store.find(d.db, d.queues(), taskId),
    findHistory(d.db, taskId),
  ])
  if (!job && !history) throw notFound(taskId)
  const state = job ? job.ended : history!.status
  if (state !== 'failed' && state !== 'cancelled') {
    throw conflict(taskId, job ? job.status : history!.status, 'retried')
  }
  await d.db.transaction().execute(async (trx) => {
    await deleteHistory(trx, taskId)
    if (job) {
      if (!(await d.store.rerun(trx, job))) throw conflict(taskId, 'changed meanwhile', 'retried')
    } else {
      // The store's retention already removed the job: enqueue it again under the same id, as addTask
      // would enqueue it now (the task's current definition, the priority it had).
      const h = history!
      const request = buildRequest(d.registry.require(h.task), h.args, {
        priority: fromBossPriority(h.priority),
      })
      await writeRequests(trx, d, [{ ...request, id: taskId }])
    }
    const info = job ?? history!
    const name = job ? (job.task ?? 'unknown') : history!.task
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
