import type { Tasklane } from '../tasklane.ts'

/** Completed runs of a task that the estimate looks at (newest first). */
const SAMPLE = 20

/**
 * What the seed hard-codes as "estimated_duration" ("2-3 seconds"), estimated instead: the range of
 * the task's recent run times (`nominalMs` until one has completed), plus the wait its `eta` implies
 * when it is queued behind others.
 * @example await estimateDuration(tasklane, taskId, 2_500) // '2-3 seconds'
 */
export async function estimateDuration(
  tasklane: Tasklane,
  taskId: string,
  nominalMs: number,
): Promise<string> {
  const info = await tasklane.getTask(taskId)
  if (!info) return formatRange(nominalMs, nominalMs)
  const wait = info.eta ? Math.max(0, Date.parse(info.eta) - Date.now()) : 0
  const page = await tasklane.listTasks({ task: info.task, status: 'completed', limit: SAMPLE })
  const runs = page.items.flatMap((t) => (t.durationMs === null ? [] : [t.durationMs]))
  if (runs.length === 0) return formatRange(wait + nominalMs, wait + nominalMs)
  return formatRange(wait + Math.min(...runs), wait + Math.max(...runs))
}

/** '2-3 seconds', '5 seconds', 'under 1 second'. */
export function formatRange(loMs: number, hiMs: number): string {
  const hi = Math.ceil(hiMs / 1000)
  if (hi <= 1) return 'under 1 second'
  const lo = Math.max(1, Math.floor(loMs / 1000))
  return lo === hi ? `${hi} seconds` : `${lo}-${hi} seconds`
}
