import type { Kysely } from 'kysely'
import type { Database } from '../db/database.ts'
import { TasklaneError } from '../errors.ts'
import type { TaskDefinition } from '../tasks/define-task.ts'
import type { TaskRegistry } from '../tasks/registry.ts'
import { traceEnqueue } from '../telemetry/enqueue-tracing.ts'
import type { TasklaneHooks } from '../telemetry/lifecycle-hooks.ts'
import { tracingEnabled } from '../telemetry/tracing.ts'
import { type CallerDb, callerKysely } from './caller-db.ts'
import {
  buildRequest,
  type EnqueueOptions,
  type EnqueueRequest,
  type EnqueueResult,
} from './enqueue-request.ts'
import { judgeStarts, type WriterDeps, writeRequests } from './enqueue-writer.ts'
import type { GroupCommitter } from './group-committer.ts'

export interface EnqueueServiceDeps {
  db: Kysely<Database>
  /** Schema of tasklane's tables, for a caller's transaction (which is not scoped to it). */
  schema: string
  writer: WriterDeps
  committer: GroupCommitter
  registry: TaskRegistry
  hooks: TasklaneHooks
}

/** Options of addTask/addTasks: the enqueue options, and the caller's transaction. */
export type AddTaskOptions = EnqueueOptions & { db?: CallerDb }

/**
 * Every way a task is enqueued in this process (addTask, addTasks, the HTTP API), one path: requests
 * are validated, traced, written (in the caller's transaction, in one of ours when a request carries
 * an idempotency key, or group-committed), and announced as `task:enqueued`.
 */
export class EnqueueService {
  readonly #d: EnqueueServiceDeps

  constructor(deps: EnqueueServiceDeps) {
    this.#d = deps
  }

  /** One task; see Tasklane.addTask. */
  async addTask<A>(
    task: TaskDefinition<A, unknown>,
    args: A,
    opts: AddTaskOptions = {},
  ): Promise<EnqueueResult> {
    const request = buildRequest(this.#d.registry.resolve(task), args, opts)
    const [result] = await this.#write([request], opts.db)
    return result!
  }

  /** Many tasks of one kind, all or none; see Tasklane.addTasks. */
  async addTasks<A>(
    task: TaskDefinition<A, unknown>,
    argsList: A[],
    opts: AddTaskOptions = {},
  ): Promise<EnqueueResult[]> {
    if (!Array.isArray(argsList)) throw new TypeError('addTasks(task, argsList) takes an array of args')
    const def = this.#d.registry.resolve(task)
    if (opts.idempotencyKey !== undefined && argsList.length > 1) {
      throw new TasklaneError(
        'validation_failed',
        'one idempotencyKey cannot cover several tasks: use addTask per task, each with its own key',
      )
    }
    const requests = argsList.map((args, i) => {
      try {
        return buildRequest(def, args, opts)
      } catch (err) {
        if (err instanceof TasklaneError) {
          throw new TasklaneError(
            err.code,
            `item ${i}: ${err.message}`,
            err.details.map((d) => ({ ...d, path: `items.${i}.${d.path ?? ''}` })),
          )
        }
        throw err
      }
    })
    return this.#write(requests, opts.db)
  }

  /** Writes requests validated already (the HTTP API builds them itself, to report per-item errors). */
  enqueueRequests(requests: EnqueueRequest[]): Promise<EnqueueResult[]> {
    return this.#write(requests, undefined)
  }

  async #write(requests: EnqueueRequest[], callerDb: CallerDb | undefined): Promise<EnqueueResult[]> {
    if (requests.length === 0) return []
    const results = tracingEnabled()
      ? await traceEnqueue(requests, () => this.#writeRequests(requests, callerDb))
      : await this.#writeRequests(requests, callerDb)
    const { hooks } = this.#d
    if (hooks.has('task:enqueued')) {
      for (const e of results) hooks.emit('task:enqueued', { ...e })
    }
    return results
  }

  async #writeRequests(requests: EnqueueRequest[], callerDb: CallerDb | undefined): Promise<EnqueueResult[]> {
    const { db, writer } = this.#d
    if (callerDb) {
      // The caller's transaction (any client: enqueue/caller-db.ts), scoped to our schema for our tables.
      const trx = callerKysely(callerDb).withSchema(this.#d.schema) as Kysely<Database>
      return writeRequests(trx, writer, requests)
    }
    if (requests.some((q) => q.idempotencyKey)) {
      return db.transaction().execute((trx) => writeRequests(trx, writer, requests))
    }
    await this.#d.committer.submit(requests)
    // Written already: if the clock cannot be read now, the status keeps its provisional value.
    await judgeStarts(db, requests).catch(() => {})
    return requests.map((q) => ({
      taskId: q.id,
      task: q.task.name,
      queue: q.task.queue,
      priority: q.priority,
      status: q.deferred ? 'scheduled' : 'queued',
      deduplicated: false,
    }))
  }
}
