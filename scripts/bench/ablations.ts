// What each of tasklane's design choices buys, measured by turning it off: the same scenario,
// tasklane in its best configuration against tasklane with one choice undone, alternating, on
// fresh databases. Only choices that are settings (or a queue created without NOTIFY) are
// toggled here; the database-level ones (batched settle, planner guard) are measured by
// scripts/bench/profile/primitives.ts and planner-guard.ts.
import { createDatabase, dropDatabase } from './db.ts'
import { drain, e2eSingle, latency, type Scenario } from './scenarios.ts'
import type { Figure } from './system.ts'
import { type TasklaneBenchOptions, TasklaneSystem } from './tasklane.system.ts'

export interface Ablation {
  id: string
  /** The design choice, as docs/benchmarks.md names it. */
  choice: string
  scenario: Scenario
  /** The figures that show the difference. */
  units: string[]
  /** What "without" means. */
  without: string
  options: TasklaneBenchOptions
}

export const ABLATIONS: Ablation[] = [
  {
    id: 'prefetch',
    choice: 'batch lease + local buffer (the default prefetch: adaptive, up to 500)',
    scenario: drain,
    units: ['tasks/s', 'postgres CPU µs/task'],
    without: 'prefetch 0: one lease per free slot, nothing buffered',
    options: { prefetch: 0 },
  },
  {
    id: 'notify',
    choice: 'NOTIFY wake-ups',
    scenario: latency,
    units: ['p50 ms', 'p99 ms'],
    without: 'queue without NOTIFY, workers polling every 50 ms (the smallest pollInterval)',
    options: { notify: false, pollIntervalMs: 50 },
  },
  {
    id: 'group-commit',
    choice: 'group-committed enqueue',
    scenario: e2eSingle,
    units: ['enqueued tasks/s', 'settled tasks/s', 'postgres CPU µs/task'],
    without: 'one INSERT statement per addTask() call',
    options: { groupCommit: false },
  },
]

/** Scenario name under which an ablation's figures are reported: `ablation:<id>`. */
export const ablationScenario = (a: Ablation) => `ablation:${a.id}`

/**
 * The ablations as benchmark scenarios for the harness: each run measures both variants (with the
 * choice first on even rounds, last on odd ones) and reports `<unit> (with)` / `<unit> (without)`.
 * "with" is the harness's own tasklane on its database; "without" gets a database of its own.
 */
export function ablationScenarios(): Scenario[] {
  return ABLATIONS.map((a) => ({
    name: ablationScenario(a),
    systems: ['tasklane'] as const,
    async run(system, ctx) {
      const figures: Figure[] = []
      const keep = (label: string, out: Figure[]) => {
        for (const f of out) {
          if (a.units.includes(f.unit))
            figures.push({ ...f, scenario: ablationScenario(a), unit: `${f.unit} (${label})` })
        }
      }
      const withChoice = async () => keep('with', await a.scenario.run(system, ctx))
      const withoutChoice = async () => {
        const db = `${new URL(ctx.dbUrl).pathname.slice(1)}_without`
        const dbUrl = await createDatabase(db)
        const variant = new TasklaneSystem(a.options)
        try {
          await variant.setup(dbUrl)
          keep('without', await a.scenario.run(variant, { ...ctx, dbUrl }))
        } finally {
          await variant.teardown()
          await dropDatabase(db)
        }
      }
      if (ctx.round % 2 === 0) {
        await withChoice()
        await withoutChoice()
      } else {
        await withoutChoice()
        await withChoice()
      }
      return figures
    },
  }))
}
