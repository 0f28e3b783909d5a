import { buildRequest, toBossJob } from '../enqueue/enqueue-request.ts'
import { TasklaneError } from '../errors.ts'
import type { PgBoss } from '../queue/boss.ts'
import type { TaskRegistry } from '../tasks/registry.ts'

export interface ScheduleDeps {
  boss: PgBoss
  registry: TaskRegistry
  heartbeatTimeoutMs: number
}

/**
 * Runs a task on a cron schedule through pg-boss's cron, which takes a lock per slot, so each slot
 * runs once across replicas. The scheduled jobs carry the task's priority, retry policy and expiry.
 */
export async function scheduleTask(
  d: ScheduleDeps,
  taskName: string,
  cron: string,
  args: unknown,
  opts: { tz?: string; key?: string },
): Promise<void> {
  const task = d.registry.require(taskName)
  const request = buildRequest(task, args, {})
  // pg-boss's schedule() validates its options like send(): a heartbeat must be at least 10 s.
  const heartbeatSeconds = Math.max(10, Math.ceil(d.heartbeatTimeoutMs / 1000))
  const { id: _id, data, ...jobOptions } = toBossJob(request, heartbeatSeconds)
  try {
    await d.boss.schedule(task.queue, cron, data, {
      ...jobOptions,
      tz: opts.tz ?? 'UTC',
      key: opts.key ?? task.name,
    })
  } catch (err) {
    const message = (err as Error).message
    throw new TasklaneError('validation_failed', `cannot schedule '${taskName}': ${message}`, [
      { path: 'cron', message },
    ])
  }
}

export async function unscheduleTask(d: ScheduleDeps, taskName: string, key?: string): Promise<void> {
  const task = d.registry.require(taskName)
  await d.boss.unschedule(task.queue, key ?? task.name)
}

export async function listSchedules(d: Pick<ScheduleDeps, 'boss'>, queues: string[]) {
  const all = await Promise.all(queues.map((q) => d.boss.getSchedules(q)))
  return all.flat()
}
