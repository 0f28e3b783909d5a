import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { engineOf } from '../../src/internal.ts'
import { bossPool } from '../../src/queue/boss.ts'
import { leaseStatement } from '../../src/queue/lease.repository.ts'
import type { Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'

// A queue's statistics are often those of an empty table (taken before its first backlog). Whatever
// the statistics, a lease must cost what it leases, not what the table holds: the backlog is walked
// on pg-boss's fetch index (job_i11) and the locked rows are updated by their ctid. Plans it had: a
// hash join over a sequential scan of the queue's table (7 ms per lease at 24k jobs), and a walk of
// every job of the queue on (name, created_on) to find the leased ids (under a cached generic plan:
// e2e-batch settled 1.7k tasks/s beside 16k enqueued). The lease runs as a named statement on
// pg-boss's pool, which plans it for its parameters every time (plan_cache_mode, boss.ts).

interface PlanNode {
  'Node Type': string
  'Relation Name'?: string
  'Index Name'?: string
  Plans?: PlanNode[]
}

const nodesOf = (plan: PlanNode): PlanNode[] => [plan, ...(plan.Plans ?? []).flatMap(nodesOf)]

const idle = defineTask({ name: 'idle', queue: 'plan', run: async () => null })

let db: TestDatabase
let tasks: Tasklane
/** The lease's plan with the statistics of an empty table, and with those taken after the fill. */
const plans = new Map<'empty' | 'filled', PlanNode[]>()
let planCacheMode = ''

beforeAll(async () => {
  db = await createTestDatabase()
  // No workers: the backlog stays put.
  tasks = await startTasklane(db.url, [idle], { workers: 0 })
  await db.query('analyze pgboss.job')
  // 5,000 queued jobs beside 5,000 completed ones: what a queue's table holds after a while.
  await tasks.addTasks(
    idle,
    Array.from({ length: 10_000 }, () => ({})),
  )
  await db.query(
    `update pgboss.job set state = 'completed', completed_on = now()
     where name = 'plan' and id in (select id from pgboss.job where name = 'plan' limit 5000)`,
  )
  plans.set('empty', await leasePlan())
  await db.query('analyze pgboss.job')
  plans.set('filled', await leasePlan())
})

afterAll(async () => {
  await tasks?.stop()
  await db?.drop()
})

describe('the lease plan', () => {
  it("is made for the lease's own parameters every time on pg-boss's pool", () => {
    expect(planCacheMode).toBe('force_custom_plan')
  })

  it.each(['empty', 'filled'] as const)(
    'walks the fetch index and updates by ctid (statistics of the %s table)',
    (stats) => {
      const nodes = plans.get(stats)!
      expect(nodes.filter((n) => n['Node Type'] === 'Seq Scan').map((n) => n['Relation Name'])).toEqual([])
      expect(nodes.map((n) => n['Node Type'])).not.toContain('Hash Join')
      const indexes = nodes.filter((n) => n['Node Type'].startsWith('Index')).map((n) => n['Index Name'])
      expect(
        indexes.every((i) => i?.endsWith('_i11')),
        `indexes read: ${indexes.join(', ')}`,
      ).toBe(true)
      expect(nodes.map((n) => n['Node Type'])).toContain('Tid Scan')
    },
  )
})

/** EXPLAIN of the lease as a prepared statement on a connection of pg-boss's pool (its settings). */
async function leasePlan(): Promise<PlanNode[]> {
  const { rows: tables } = await db.query(`select table_name from pgboss.queue where name = 'plan'`)
  const text = leaseStatement('pgboss', tables[0].table_name)
  const client = await bossPool(engineOf(tasks).runtime.store.boss)!.connect()
  try {
    planCacheMode = (await client.query('show plan_cache_mode')).rows[0].plan_cache_mode
    await client.query(`prepare lease_plan as ${text}`)
    await client.query('begin')
    const { rows } = await client.query(`explain (format json) execute lease_plan('plan', 500, 10, null)`)
    await client.query('rollback')
    return nodesOf(rows[0]['QUERY PLAN'][0].Plan as PlanNode)
  } finally {
    await client.query('deallocate lease_plan').catch(() => {})
    client.release()
  }
}
