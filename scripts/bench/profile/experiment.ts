// A/B runs of one scenario for tasklane variants, alternating variant order every run so neither
// gets the quieter machine, each run on a fresh database; prints every run and the medians.
//
//   npx tsx scripts/bench/profile/experiment.ts --scenario=e2e-single --runs=3 \
//     --variants=best,no-running-events,running-window-25
//
// Variants are settings of TasklaneBenchOptions (prefetch, notify, poll, group commit), simulated
// src changes (patches.ts), or `env:KEY=VALUE+KEY2=VALUE2`: switches read by a scratch copy of the
// repository whose src was patched for an experiment (run this script from that copy; the switches
// used for docs/benchmarks.md's "Proposed changes" were TL_EXP_BACKPRESSURE=excess and
// TL_EXP_REFILL=1). `--quick` sizes by default; `--full` for the full sizes; `--queries` prints the
// client-side statement timings of each run.
import { loadavg } from 'node:os'
import pg from 'pg'
import { ADMIN_URL, createDatabase, dbName, dropDatabase } from '../db.ts'
import { medians, type RoundFigure } from '../report.ts'
import { SCALES } from '../scale.ts'
import { scenarios } from '../scenarios.ts'
import { type TasklaneBenchOptions, TasklaneSystem } from '../tasklane.system.ts'
import { type PatchSet, usePatches } from './patches.ts'
import { installQueryTimer, queryReport, resetQueryTimer } from './query-timer.ts'

interface Variant {
  options?: TasklaneBenchOptions
  patches?: PatchSet
  env?: Record<string, string>
}
const EXPERIMENT_KEYS = ['TL_EXP_BACKPRESSURE', 'TL_EXP_REFILL', 'TL_EXP_LIVENESS']

/** Named variants; `running-window-N` and `settle-window-N` take their window in ms from the name. */
function variant(name: string): Variant {
  const n = Number(/-(\d+)$/.exec(name)?.[1] ?? 0)
  // env:K=V+K2=V2 sets experiment switches of a patched src copy (read when workers start).
  if (name.startsWith('env:'))
    return {
      env: Object.fromEntries(
        name
          .slice(4)
          .split('+')
          .map((kv) => kv.split('=') as [string, string]),
      ),
    }
  if (name === 'best') return {}
  if (name === 'prefetch-0') return { options: { prefetch: 0 } }
  if (name.startsWith('prefetch-')) return { options: { prefetch: n } }
  if (name === 'no-notify') return { options: { notify: false } }
  if (name.startsWith('no-notify-poll-')) return { options: { notify: false, pollIntervalMs: n } }
  if (name === 'no-group-commit') return { options: { groupCommit: false } }
  if (name === 'no-running-events') return { patches: { noRunningEvents: true } }
  if (name.startsWith('running-window-')) return { patches: { runningWindowMs: n } }
  if (name.startsWith('settle-window-')) return { patches: { settleWindowMs: n } }
  if (name.startsWith('windows-')) return { patches: { runningWindowMs: n, settleWindowMs: n } }
  throw new Error(`unknown variant ${name}`)
}

const option = (name: string) =>
  process.argv
    .find((a) => a.startsWith(`--${name}=`))
    ?.split('=')
    .slice(1)
    .join('=')
const scenarioName = option('scenario') ?? 'drain'
const runs = Number(option('runs') ?? 3)
const names = (option('variants') ?? 'best').split(',')
const scale = { ...SCALES[process.argv.includes('--full') ? 'full' : 'quick'], rounds: 1 }
const scenario = scenarios.find((s) => s.name === scenarioName)
if (!scenario) throw new Error(`unknown scenario ${scenarioName}`)
const showQueries = process.argv.includes('--queries')
if (showQueries) installQueryTimer()

async function xactCommits(db: string): Promise<number> {
  const client = new pg.Client({ connectionString: ADMIN_URL })
  await client.connect()
  try {
    await new Promise((r) => setTimeout(r, 600)) // let exiting backends report
    const { rows } = await client.query<{ n: string }>(
      'select xact_commit as n from pg_stat_database where datname = $1',
      [db],
    )
    return Number(rows[0]?.n ?? 0)
  } finally {
    await client.end()
  }
}

const figures: RoundFigure[] = []
for (let r = 0; r < runs; r++) {
  const order = r % 2 === 0 ? names : [...names].reverse()
  for (const name of order) {
    const v = variant(name)
    usePatches(v.patches ?? {})
    for (const k of EXPERIMENT_KEYS) delete process.env[k]
    Object.assign(process.env, v.env ?? {})
    const db = dbName('exp', scenarioName, r, Math.floor(Math.random() * 1e6))
    const system = new TasklaneSystem(v.options)
    const load = loadavg()[0]?.toFixed(2)
    try {
      const dbUrl = await createDatabase(db)
      await system.setup(dbUrl)
      resetQueryTimer()
      const out = await scenario.run(system, { scale, dbUrl, round: r })
      for (const f of out) figures.push({ ...f, system: name as never, round: r })
      console.error(
        `${name} run ${r} (load ${load}): ${out.map((f) => `${f.value.toFixed(1)} ${f.unit}`).join(', ')}`,
      )
      if (showQueries) console.error(queryReport(8))
    } finally {
      await system.teardown()
      // Backends flush their statistics when they exit: read after teardown, before the drop.
      const commits = await xactCommits(db)
      const settled = figures.find(
        (f) => f.system === (name as never) && f.round === r && /settled|tasks\/s/.test(f.unit),
      )
      if (settled) console.error(`  ${name}: ${commits} commits in the database`)
      await dropDatabase(db)
    }
  }
}
for (const f of medians(figures)) {
  console.log(
    `${String(f.system).padEnd(22)} ${f.unit.padEnd(18)} median ${f.value}  (${f.min} – ${f.max}, ${f.rounds} runs)`,
  )
}
process.exit(0)
