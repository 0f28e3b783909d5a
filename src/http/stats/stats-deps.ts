import type { StatsDeps } from '../../stats/stats.service.ts'
import type { Tasklane } from '../../tasklane.ts'

/**
 * The StatsDeps tasks.getTaskStats() uses, from the instance's public surface: /metrics reads more
 * than TaskStats (outcomes, a histogram) over the same window and queues.
 */
export function statsDepsOf(tasks: Tasklane): StatsDeps {
  const queues = new Set([...tasks.registry.queues(), ...tasks.runners.map((r) => r.queue)])
  return {
    db: tasks.db,
    bossSchema: tasks.config.bossSchema,
    queues: [...queues],
    windowMs: tasks.config.statsWindowMs,
    heartbeatTimeoutMs: tasks.heartbeatTimeoutMs,
    startedAt: tasks.startedAt ?? new Date(),
  }
}
