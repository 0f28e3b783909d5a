import type { Tasklane } from '../../../src/tasklane.ts'
import { startTasklane } from '../../support/tasklane.ts'
import { tasks } from '../fixtures/fault-tasks.ts'
import { type FaultPostgres, startFaultPostgres } from './fault-postgres.ts'
import { Fleet } from './fleet.ts'

export interface FaultCluster {
  pg: FaultPostgres
  fleet: Fleet
  /** In this process: enqueues only (no workers, no supervisor), heartbeat timeout 5 s. */
  producer: Tasklane
}

/**
 * The setup most fault scenarios share: a PostgreSQL of their own (which they may crash), a fleet of
 * tasklane OS processes with `fleetEnv`, and an in-process producer.
 */
export async function startFaultCluster(fleetEnv: Record<string, string>): Promise<FaultCluster> {
  const pg = await startFaultPostgres()
  const fleet = new Fleet({ DATABASE_URL: pg.url, ...fleetEnv })
  const producer = await startTasklane(pg.url, tasks, {
    workers: 0,
    supervise: false,
    env: { TASKLANE_HEARTBEAT_TIMEOUT: '5s' },
  })
  return { pg, fleet, producer }
}

export async function stopFaultCluster(c: Partial<FaultCluster>): Promise<void> {
  await c.fleet?.killAll()
  await c.producer?.stop()
  await c.pg?.destroy()
}
