// The benchmark loop: for each scenario and round, each system on its own fresh database, in an
// order that rotates every round so no system always gets the cooler machine.
import { loadavg } from 'node:os'
import { createDatabase, dbName, dropDatabase } from './db.ts'
import { pgbenchAvailable, pgCeiling } from './pg-ceiling.ts'
import type { RoundFigure } from './report.ts'
import type { Scale } from './scale.ts'
import type { Scenario } from './scenarios.ts'
import { round } from './stats.ts'
import type { SystemFactory } from './system.ts'

/** What the harness records besides figures: where each run happened and how loaded the machine was. */
export interface RunNote {
  scenario: string
  system: string
  round: number
  /** 1-minute load average when the run started (the harness itself adds ~2 on 2 cores). */
  load: number
  seconds: number
  error?: string
  /** Why the run did not happen (a missing tool), when it didn't. */
  skipped?: string
}

export interface RunPlan {
  scale: Scale
  systems: SystemFactory[]
  scenarios: Scenario[]
  ceiling: boolean
  /** Only these systems (by name), when given. */
  only?: ReadonlySet<string> | undefined
  onFigure(figure: RoundFigure): void
  onNote(note: RunNote): void
}

function rotate<T>(items: readonly T[], by: number): T[] {
  const k = items.length === 0 ? 0 : by % items.length
  return [...items.slice(k), ...items.slice(0, k)]
}

const load = () => round(loadavg()[0] ?? 0)

/** Runs the plan; resolves false when any run failed (its error is in the notes and on stderr). */
export async function runPlan(plan: RunPlan): Promise<boolean> {
  let ok = true
  const { scale } = plan
  for (const scenario of plan.scenarios) {
    for (let r = 0; r < scale.rounds; r++) {
      for (const make of rotate(plan.systems, r)) {
        const system = make()
        if (plan.only && !plan.only.has(system.name)) continue
        if (scenario.systems && !scenario.systems.includes(system.name)) continue
        const db = dbName(system.name, scenario.name, r)
        const note: RunNote = {
          scenario: scenario.name,
          system: system.name,
          round: r,
          load: load(),
          seconds: 0,
        }
        console.error(`# ${scenario.name} / ${system.name} / round ${r} (${db}) load ${note.load}`)
        const t0 = performance.now()
        try {
          const dbUrl = await createDatabase(db)
          await system.setup(dbUrl)
          for (const figure of await scenario.run(system, { scale, dbUrl, round: r }))
            plan.onFigure({ ...figure, round: r })
        } catch (err) {
          ok = false
          note.error = (err as Error).stack ?? String(err)
          console.error(`! ${scenario.name} / ${system.name} failed:`, err)
        } finally {
          await system.teardown().catch((err) => console.error('! teardown:', err))
          await dropDatabase(db).catch((err) => console.error('! drop:', err))
          note.seconds = round((performance.now() - t0) / 1000, 1)
          plan.onNote(note)
        }
      }
    }
  }
  const ceiling = plan.ceiling && (!plan.only || plan.only.has('postgres'))
  if (ceiling && !(await pgbenchAvailable())) {
    console.error('# pg ceiling skipped: pgbench is not installed')
    plan.onNote({
      scenario: 'pg-ceiling',
      system: 'postgres',
      round: 0,
      load: load(),
      seconds: 0,
      skipped: 'pgbench is not installed',
    })
  } else if (ceiling) {
    for (let r = 0; r < scale.rounds; r++) {
      const note: RunNote = { scenario: 'pg-ceiling', system: 'postgres', round: r, load: load(), seconds: 0 }
      console.error(`# pg ceiling / round ${r} load ${note.load}`)
      const t0 = performance.now()
      try {
        const figures = await pgCeiling({
          round: r,
          seconds: scale.ceilingSeconds,
          clients: scale.ceilingClients,
        })
        for (const figure of figures) plan.onFigure({ ...figure, round: r })
      } catch (err) {
        ok = false
        note.error = (err as Error).message
        console.error('! pg ceiling failed:', err)
      } finally {
        note.seconds = round((performance.now() - t0) / 1000, 1)
        plan.onNote(note)
      }
    }
  }
  return ok
}
