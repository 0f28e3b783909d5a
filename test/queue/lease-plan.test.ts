import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { engineOf } from '../../src/internal.ts'
import { bossPool } from '../../src/queue/boss.ts'
import { leaseStatement } from '../../src/queue/lease.repository.ts'
import type { Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'

// The lease runs as a named statement, so the server may cache a generic plan for it. Whatever the
// plan, a lease must cost what it leases, not what the backlog holds: no sequential scan of the
// queue's table (a lease that hashed the whole table took 7 ms per call at 24k jobs, and under a
// generic plan e2e-single settled 503 tasks/s beside 5,923 enqueued).

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

beforeAll(async () => {
  db = await createTestDatabase()
  // No workers: the backlog stays put.
  tasks = await startTasklane(db.url, [idle], { workers: 0 })
  await tasks.addTasks(
    idle,
    Array.from({ length: 5_000 }, () => ({})),
  )
  await db.query('analyze pgboss.job')
})

afterAll(async () => {
  await tasks?.stop()
  await db?.drop()
})

describe('the lease plan', () => {
  it.each(['force_generic_plan', 'force_custom_plan'])(
    'walks indexes only with a backlog of 5,000 (%s)',
    async (mode) => {
      const { rows: tables } = await db.query(`select table_name from pgboss.queue where name = 'plan'`)
      const text = leaseStatement('pgboss', tables[0].table_name)
      // pg-boss's pool: the planner settings the lease runs with (boss.ts).
      const client = await bossPool(engineOf(tasks).runtime.store.boss)!.connect()
      try {
        await client.query(`set plan_cache_mode = ${mode}`)
        await client.query(`prepare lease_plan as ${text}`)
        await client.query('begin')
        const { rows } = await client.query(`explain (format json) execute lease_plan('plan', 500, 10, null)`)
        await client.query('rollback')
        const nodes = nodesOf(rows[0]['QUERY PLAN'][0].Plan as PlanNode)
        expect(nodes.filter((n) => n['Node Type'] === 'Seq Scan').map((n) => n['Relation Name'])).toEqual([])
        expect(nodes.map((n) => n['Node Type'])).not.toContain('Hash Join')
        expect(
          nodes.find((n) => n['Node Type'] === 'Index Scan' && n['Index Name']?.endsWith('_pkey')),
        ).toBeDefined()
      } finally {
        await client.query('deallocate lease_plan').catch(() => {})
        await client.query('reset plan_cache_mode').catch(() => {})
        client.release()
      }
    },
  )
})
