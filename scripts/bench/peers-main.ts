// Benchmark entry: npx tsx scripts/bench/peers-main.ts [--quick] [--scenario=NAME] [--system=NAME] [--no-ceiling]
// stdout: one JSON line per figure, then one per (scenario, system, unit) median. Progress → stderr.
import { loadavg } from 'node:os'
import { createDatabase, dbName, dropDatabase } from './db.ts'
import { GraphileWorkerSystem } from './graphile-worker.system.ts'
import { PgBossSystem } from './pg-boss.system.ts'
import { pgCeiling } from './pg-ceiling.ts'
import { scenarios } from './scenarios.ts'
import { median, round } from './stats.ts'
import type { Figure, SystemFactory } from './system.ts'

// Adding tasklane = appending `() => new TasklaneSystem()` here.
const SYSTEMS: SystemFactory[] = [() => new PgBossSystem(), () => new GraphileWorkerSystem()]

const args = process.argv.slice(2)
const flag = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1]
const quick = args.includes('--quick')
const rounds = quick ? 1 : 3
const onlyScenario = flag('scenario')
const onlySystem = flag('system')

const all: Figure[] = []
let failed = false

function emit(figure: Figure, roundNo: number) {
  all.push(figure)
  console.log(JSON.stringify({ ...figure, value: round(figure.value), round: roundNo }))
}

for (const scenario of scenarios.filter((s) => !onlyScenario || s.name === onlyScenario)) {
  for (let r = 0; r < rounds; r++) {
    // Alternate which system goes first so neither always gets the cooler machine.
    const order = r % 2 === 0 ? SYSTEMS : [...SYSTEMS].reverse()
    for (const make of order) {
      const system = make()
      if (onlySystem && system.name !== onlySystem) continue
      const db = dbName(system.name, scenario.name, r)
      // 1-minute load average (this harness contributes ~2-3): a much higher value means the
      // round shared the 2 cores with other work and its figures are suspect.
      console.error(
        `# ${scenario.name} / ${system.name} / round ${r} (${db}) load ${loadavg()[0]?.toFixed(2)}`,
      )
      try {
        const url = await createDatabase(db)
        await system.setup(url)
        for (const figure of await scenario.run(system, { quick })) emit(figure, r)
      } catch (err) {
        failed = true
        console.error(`! ${scenario.name} / ${system.name} failed:`, err)
      } finally {
        await system.teardown().catch((err) => console.error('! teardown:', err))
        await dropDatabase(db).catch((err) => console.error('! drop:', err))
      }
    }
  }
}

if (!args.includes('--no-ceiling') && (!onlySystem || onlySystem === 'postgres')) {
  for (let r = 0; r < rounds; r++) {
    console.error(`# pg ceiling / round ${r} load ${loadavg()[0]?.toFixed(2)}`)
    try {
      for (const figure of await pgCeiling(r)) emit(figure, r)
    } catch (err) {
      failed = true
      console.error('! pg ceiling failed:', err)
    }
  }
}

const groups = new Map<string, Figure[]>()
for (const f of all) {
  const key = JSON.stringify([f.scenario, f.system, f.unit])
  groups.set(key, [...(groups.get(key) ?? []), f])
}
for (const figures of groups.values()) {
  const { scenario, system, unit } = figures[0] as Figure
  const value = round(median(figures.map((f) => f.value)))
  console.log(JSON.stringify({ median: true, scenario, system, value, unit, rounds: figures.length }))
}

// Peers' pools and timers are closed in teardown; exit explicitly anyway so one stray handle in a
// third-party library can't hang a CI job.
process.exit(failed ? 1 : 0)
