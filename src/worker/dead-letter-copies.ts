import type { Kysely } from 'kysely'
import type { Database } from '../db/database.ts'
import { markDeadLettered } from '../history/history.repository.ts'
import type { JobStore } from '../queue/job-store.ts'

/** A job pg-boss copied into a dead-letter queue: the copy's fence and the task it came from. */
export interface DeadLetterCopy {
  id: string
  retryCount: number
  sourceId: string
}

/**
 * Earlier tasklane versions let pg-boss dead-letter a failed task by copying its job (data
 * `{ task, args }`) into the dead-letter queue, where a worker ran the failed task again under a new
 * id. A worker leasing such a copy never runs it: in one transaction it deletes the copy (fenced to
 * the claim) and marks the original task's failed history row dead-lettered for this queue, which is
 * what tasklane records itself now (docs/reliability.md). Returns how many copies it took in.
 */
export async function absorbDeadLetterCopies(
  db: Kysely<Database>,
  store: JobStore,
  queue: string,
  copies: DeadLetterCopy[],
): Promise<number> {
  if (copies.length === 0) return 0
  return db.transaction().execute(async (trx) => {
    const dropped = await store.dropCopies(
      trx,
      queue,
      copies.map((c) => ({ id: c.id, retryCount: c.retryCount })),
    )
    await markDeadLettered(
      trx,
      copies.map((c) => ({ taskId: c.sourceId, deadLetter: queue })),
    )
    return dropped
  })
}
