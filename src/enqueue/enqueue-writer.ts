import type { Kysely } from 'kysely'
import { databaseNow } from '../db/clock.repository.ts'
import type { Database } from '../db/database.ts'
import { TasklaneError } from '../errors.ts'
import { claimKeys, findKeys } from '../idempotency/idempotency.repository.ts'
import type { JobStore } from '../queue/job-store.ts'
import { type EnqueueRequest, type EnqueueResult, resultFor } from './enqueue-request.ts'

export interface WriterDeps {
  store: JobStore
}

/**
 * Writes requests inside `trx` (the caller's transaction, or one of ours): claims idempotency keys,
 * then inserts the new jobs into the job store, one statement per queue. A key already held with the same
 * request (equal canonical forms: see idempotency/canonical-request.ts) resolves to its existing
 * taskId (deduplicated); with a different request it is a 409. Throws on a conflict, so the
 * transaction writes nothing.
 */
export async function writeRequests(
  trx: Kysely<Database>,
  deps: WriterDeps,
  requests: EnqueueRequest[],
): Promise<EnqueueResult[]> {
  await judgeStarts(trx, requests)
  const keyed = requests.filter((r) => r.idempotencyKey)
  const outcomes = await claimKeys(
    trx,
    keyed.map((r) => ({ key: r.idempotencyKey!, taskId: r.id, task: r.task.name, request: r.canonical })),
  )
  // The first request of each key in this call holds the claim; later ones must mean the same.
  const firstByKey = new Map<string, { request: EnqueueRequest; requestHash: string; owned: boolean }>()
  const repeats: EnqueueRequest[] = []
  keyed.forEach((r, i) => {
    const { requestHash, owned } = outcomes[i]!
    const first = firstByKey.get(r.idempotencyKey!)
    if (!first) firstByKey.set(r.idempotencyKey!, { request: r, requestHash, owned })
    else if (first.requestHash !== requestHash) throw conflict(r.idempotencyKey!)
    else repeats.push(r)
  })
  const taken = [...firstByKey.values()].filter((f) => !f.owned)
  const existing = await findKeys(
    trx,
    taken.map((f) => f.request.idempotencyKey!),
  )
  const taskIdByKey = new Map<string, string>()
  for (const f of firstByKey.values()) {
    const key = f.request.idempotencyKey!
    if (f.owned) {
      taskIdByKey.set(key, f.request.id)
      continue
    }
    const row = existing.get(key)
    if (!row || row.request_hash !== f.requestHash) throw conflict(key)
    taskIdByKey.set(key, row.task_id)
  }
  const repeated = new Set(repeats)
  const fresh: EnqueueRequest[] = []
  const results = requests.map((r) => {
    const key = r.idempotencyKey
    if (key && (repeated.has(r) || !firstByKey.get(key)!.owned)) {
      return resultFor(r, taskIdByKey.get(key)!, true)
    }
    fresh.push(r)
    return resultFor(r, r.id, false)
  })
  await insertJobs(trx, deps, fresh)
  return results
}

/**
 * Sets each request's `deferred` (the `scheduled` status it answers) by comparing an absolute
 * startAfter with the database's clock — the one that decides when the task is ready — rather than
 * this process's. One query, and only when some request names an instant.
 */
export async function judgeStarts(db: Kysely<any>, requests: EnqueueRequest[]): Promise<void> {
  if (!requests.some((r) => r.startAfterMs !== null)) return
  const now = (await databaseNow(db)).getTime()
  for (const r of requests) if (r.startAfterMs !== null) r.deferred = r.startAfterMs > now
}

/** Inserts jobs into the job store, one statement per queue (each wakes that queue's workers). */
export async function insertJobs(
  db: Kysely<any>,
  deps: WriterDeps,
  requests: EnqueueRequest[],
): Promise<void> {
  await deps.store.insert(db, requests)
}

function conflict(key: string): TasklaneError {
  return new TasklaneError(
    'idempotency_conflict',
    `idempotency key '${key}' was already used for a different request: use a new key, or resend the original request`,
  )
}
