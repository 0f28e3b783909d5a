import type { Kysely } from 'kysely'
import type { Database } from '../db/database.ts'
import { TasklaneError } from '../errors.ts'
import { claimKeys, findKeys } from '../idempotency/idempotency.repository.ts'
import { fromKysely, type PgBoss } from '../queue/boss.ts'
import { type EnqueueRequest, type EnqueueResult, resultFor, toBossJob } from './enqueue-request.ts'

export interface WriterDeps {
  boss: PgBoss
  heartbeatSeconds: number
}

/**
 * Writes requests inside `trx` (the caller's transaction, or one of ours): claims idempotency keys,
 * then inserts the new jobs through pg-boss, one statement per queue. A key already held with the same
 * request resolves to its existing taskId (deduplicated); with a different request it is a 409.
 * Throws on a conflict, so the transaction writes nothing.
 */
export async function writeRequests(
  trx: Kysely<Database>,
  deps: WriterDeps,
  requests: EnqueueRequest[],
): Promise<EnqueueResult[]> {
  const results: (EnqueueResult | null)[] = requests.map(() => null)
  const fresh: EnqueueRequest[] = []
  const firstByKey = new Map<string, EnqueueRequest>()
  const claims: EnqueueRequest[] = []
  requests.forEach((r, i) => {
    if (!r.idempotencyKey) return
    const first = firstByKey.get(r.idempotencyKey)
    if (!first) {
      firstByKey.set(r.idempotencyKey, r)
      claims.push(r)
      return
    }
    if (first.requestHash !== r.requestHash) throw conflict(r.idempotencyKey)
    results[i] = resultFor(r, first.id, true)
  })
  const owned = await claimKeys(
    trx,
    claims.map((r) => ({
      key: r.idempotencyKey!,
      taskId: r.id,
      task: r.task.name,
      requestHash: r.requestHash,
    })),
  )
  const taken = claims.filter((r) => !owned.has(r.idempotencyKey!))
  const existing = await findKeys(
    trx,
    taken.map((r) => r.idempotencyKey!),
  )
  const dedupedIds = new Map<EnqueueRequest, string>()
  for (const r of taken) {
    const row = existing.get(r.idempotencyKey!)
    if (!row || row.request_hash !== r.requestHash) throw conflict(r.idempotencyKey!)
    dedupedIds.set(r, row.task_id)
  }
  requests.forEach((r, i) => {
    if (results[i]) return
    const dedupedId = dedupedIds.get(r)
    if (dedupedId) results[i] = resultFor(r, dedupedId, true)
    else {
      fresh.push(r)
      results[i] = resultFor(r, r.id, false)
    }
  })
  await insertJobs(trx, deps, fresh)
  return results as EnqueueResult[]
}

/** Inserts jobs through pg-boss, one statement per queue (each carries pg-boss's NOTIFY wake-up). */
export async function insertJobs(
  db: Kysely<any>,
  deps: WriterDeps,
  requests: EnqueueRequest[],
): Promise<void> {
  const byQueue = Map.groupBy(requests, (r) => r.task.queue)
  const adapter = fromKysely(db)
  for (const [queue, group] of byQueue) {
    await deps.boss.insert(
      queue,
      group.map((r) => toBossJob(r, deps.heartbeatSeconds)),
      { db: adapter },
    )
  }
}

function conflict(key: string): TasklaneError {
  return new TasklaneError(
    'idempotency_conflict',
    `idempotency key '${key}' was already used for a different request: use a new key, or resend the original request`,
  )
}
