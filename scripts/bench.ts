// Benchmark entry (`npm run bench`): tasklane against plain pg-boss 12 and graphile-worker 0.18 on
// the same PostgreSQL, every run on a database of its own, systems alternating, medians of rounds.
//
//   npm run bench                          full run (3 rounds, ~20-25 min)
//   npm run bench -- --publish             the same, then rewrites the tracked record, docs/benchmarks.md
//                                          figures and docs/images/bench-*.svg
//   npx tsx scripts/bench.ts --quick       ~2-3 minutes, 1 round, shorter timed runs
//   npx tsx scripts/bench.ts --smoke       ~30 s quiet (seconds per run): proves the harness runs (test/bench/)
//   options: --scenario=drain,latency  --system=tasklane,pg-boss  --no-ceiling  --out=FILE  --report  --rounds=N
//            --ablations / --no-ablations (tasklane with each design choice undone; on in full and smoke)
//
// stdout: one JSON line per figure (median over rounds), then the ratio and target tables.
// stderr: progress, one line per run with the machine's load average. The full record (rounds,
// load, versions) goes to bench-results/<mode>.jsonl, ignored by git (none for --smoke or a partial
// run); --publish writes scripts/bench/results/<mode>.jsonl instead, --out=FILE anywhere (see
// scripts/bench/record-target.ts). Without --publish or --report no tracked file changes.
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ablationScenarios } from './bench/ablations.ts'
import { ADMIN_URL, dropStaleDatabases } from './bench/db.ts'
import { GraphileWorkerSystem } from './bench/graphile-worker.system.ts'
import { machineInfo } from './bench/machine.ts'
import { PgBossSystem } from './bench/pg-boss.system.ts'
import { recordTarget } from './bench/record-target.ts'
import {
  ablationTable,
  type MedianFigure,
  medians,
  otherTable,
  type RoundFigure,
  ratioTable,
  targetTable,
} from './bench/report.ts'
import { type RunNote, runPlan } from './bench/runner.ts'
import { type Mode, SCALES } from './bench/scale.ts'
import { scenarios } from './bench/scenarios.ts'
import { stats10m } from './bench/stats-scale.scenario.ts'
import type { SystemFactory } from './bench/system.ts'
import { taskCeiling } from './bench/task-ceiling.ts'
import { tasklaneScenarios } from './bench/tasklane.scenarios.ts'
import { TasklaneSystem } from './bench/tasklane.system.ts'
import { writeReport } from './bench/write-report.ts'

const SYSTEMS: SystemFactory[] = [
  () => new TasklaneSystem(),
  () => new PgBossSystem(),
  () => new GraphileWorkerSystem(),
]
const args = process.argv.slice(2)
// Ablations (tasklane with one design choice undone) run in full and smoke runs; --quick only with --ablations.
const withAblations =
  args.includes('--ablations') || (!args.includes('--quick') && !args.includes('--no-ablations'))
const ALL_SCENARIOS = [
  ...scenarios,
  ...tasklaneScenarios,
  taskCeiling,
  stats10m,
  ...(withAblations ? ablationScenarios() : []),
]

const option = (name: string) =>
  args
    .find((a) => a.startsWith(`--${name}=`))
    ?.split('=')
    .slice(1)
    .join('=')
const list = (name: string) => option(name)?.split(',').filter(Boolean)
const mode: Mode = args.includes('--smoke') ? 'smoke' : args.includes('--quick') ? 'quick' : 'full'
// --rounds=N overrides the mode's rounds (one 10M-row stats-10m round takes tens of minutes).
const scale = option('rounds') ? { ...SCALES[mode], rounds: Number(option('rounds')) } : SCALES[mode]
const onlyScenarios = list('scenario')
const onlySystems = list('system')
const unknown = onlyScenarios?.filter((s) => !ALL_SCENARIOS.some((x) => x.name === s))
if (unknown?.length) {
  console.error(
    `unknown scenario ${unknown.join(', ')}: choose from ${ALL_SCENARIOS.map((s) => s.name).join(', ')}`,
  )
  process.exit(2)
}
const repoRoot = fileURLToPath(new URL('..', import.meta.url))
// A partial run (some scenarios or systems) writes no record and never rewrites the docs unless asked
// (--out, --report), so it can't replace the record the docs were drawn from.
const partial = Boolean(onlyScenarios || onlySystems)
let target: ReturnType<typeof recordTarget>
try {
  target = recordTarget(
    {
      mode,
      partial,
      out: option('out'),
      publish: args.includes('--publish'),
      report: args.includes('--report'),
    },
    repoRoot,
  )
} catch (err) {
  console.error((err as Error).message)
  process.exit(2)
}
const { out, report } = target

const stale = await dropStaleDatabases()
if (stale.length > 0) console.error(`# dropped ${stale.length} database(s) left by earlier runs that died`)
const records: unknown[] = [{ meta: await machineInfo(ADMIN_URL, mode) }]
const figures: RoundFigure[] = []
const notes: RunNote[] = []

const ok = await runPlan({
  scale,
  systems: SYSTEMS,
  // The SQL ceiling (pgbench of tasklane's drain SQL) says nothing at smoke sizes: only when named there.
  // stats-10m at full size (10M rows, ~25 min of fill per round) only when named: a full run stays ~25 min.
  scenarios: ALL_SCENARIOS.filter((s) =>
    onlyScenarios
      ? onlyScenarios.includes(s.name)
      : !(mode === 'smoke' && s === taskCeiling) && !(mode === 'full' && s === stats10m),
  ),
  ceiling: !args.includes('--no-ceiling') && (!onlyScenarios || onlyScenarios.includes('pg-ceiling')),
  only: onlySystems ? new Set(onlySystems) : undefined,
  onFigure(figure) {
    figures.push(figure)
    records.push(figure)
    console.error(`  ${figure.scenario} ${figure.system}: ${figure.value.toFixed(2)} ${figure.unit}`)
  },
  onNote(note) {
    notes.push(note)
    records.push({ note })
  },
})

const summary: MedianFigure[] = medians(figures)
for (const f of summary) {
  console.log(JSON.stringify(f))
  records.push({ median: true, ...f })
}
console.log(
  `\n## tasklane / peer (medians of ${scale.rounds} round${scale.rounds > 1 ? 's' : ''}, ${mode})\n`,
)
console.log(ratioTable(summary))
console.log('\n## targets\n')
console.log(targetTable(summary))
console.log('\n## tasklane only, and PostgreSQL\n')
console.log(otherTable(summary))
if (summary.some((f) => f.scenario.startsWith('ablation:'))) {
  console.log('\n## what each design choice buys (tasklane with / without it)\n')
  console.log(ablationTable(summary))
}
const loads = notes.map((n) => n.load)
console.log(`\nload average (1 min) at the start of runs: ${Math.min(...loads)} – ${Math.max(...loads)}`)

if (out) {
  await mkdir(dirname(out), { recursive: true })
  await writeFile(out, `${records.map((r) => JSON.stringify(r)).join('\n')}\n`)
  console.error(`# record written to ${out}`)
  if (report) {
    const written = await writeReport(out)
    console.error(`# report written: ${written.join(', ')}`)
  } else if (mode === 'full') {
    console.error('# docs/benchmarks.md unchanged: `npm run bench -- --publish` rewrites it from a full run')
  }
}

// Peers' pools and timers are closed in teardown; exit explicitly anyway so one stray handle in a
// third-party library can't hang a CI job.
process.exit(ok ? 0 : 1)
