import { SHARED_SETTINGS } from '../config.ts'
import { checkInteger } from '../setting-checks.ts'

/**
 * How one serve/worker process spends its connections. The total is set in one place
 * (TASKLANE_MAX_CONNECTIONS, or the `maxConnections` option) and split three ways:
 * - `listen`: the one LISTEN connection (wake-ups, cancels, live events);
 * - `bossPool`: pg-boss's pool (leases, heartbeats of leased jobs, its supervisor and cron);
 * - `tasklanePool`: tasklane's pool (enqueue, settle, progress, the API's reads, maintenance).
 * Migration at start runs before these open and needs at most 3 (its transaction and pg-boss's
 * installer's 2), so `total` is the most the process ever holds.
 */
export interface ConnectionBudget {
  total: number
  listen: 1
  bossPool: number
  tasklanePool: number
}

// pg-boss's pool serves one lease statement per queue at a time plus its supervisor: more than 4
// connections sit idle, fewer than a third of the budget starve the leases.
const MAX_BOSS_POOL = 4

/**
 * Splits a per-process connection budget. `poolSize` (the older option) fixes tasklane's pool and adds
 * pg-boss's and the LISTEN connection on top. Throws a ConfigError naming the setting when the budget
 * cannot work.
 * @example connectionBudget(15) // { total: 15, listen: 1, bossPool: 4, tasklanePool: 10 }
 */
export function connectionBudget(maxConnections: number, poolSize?: number): ConnectionBudget {
  if (poolSize !== undefined) {
    checkInteger(
      'poolSize',
      poolSize,
      1,
      10_000,
      'an integer from 1 to 10000 (or set maxConnections instead)',
    )
    return { total: poolSize + MAX_BOSS_POOL + 1, listen: 1, bossPool: MAX_BOSS_POOL, tasklanePool: poolSize }
  }
  SHARED_SETTINGS.maxConnections.check('maxConnections', maxConnections)
  const bossPool = Math.min(MAX_BOSS_POOL, Math.max(1, Math.floor((maxConnections - 1) / 3)))
  return { total: maxConnections, listen: 1, bossPool, tasklanePool: maxConnections - 1 - bossPool }
}
