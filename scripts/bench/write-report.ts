// Regenerates the figures of docs/benchmarks.md (between the bench:results markers) and the
// charts docs/images/bench-throughput.svg, bench-latency.svg and bench-cpu.svg from a benchmark record.
//
//   npx tsx scripts/bench/write-report.ts [scripts/bench/results/full.jsonl]
//
// `npm run bench` (full, all scenarios) calls it itself at the end.
import { readFile, writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import type { MachineInfo } from './machine.ts'
import {
  ablationTable,
  lookup,
  type MedianFigure,
  otherTable,
  PEERS,
  ratioTable,
  targetTable,
} from './report.ts'
import type { RunNote } from './runner.ts'
import { barChart, type Group } from './svg.ts'

const ROOT = new URL('../../', import.meta.url)
const DOC = new URL('docs/benchmarks.md', ROOT)
const START = '<!-- bench:results:start -->'
const END = '<!-- bench:results:end -->'
const SYSTEMS = ['tasklane', ...PEERS] as const

export interface BenchRecord {
  meta: MachineInfo
  medians: MedianFigure[]
  notes: RunNote[]
}

export async function readRecord(file: string): Promise<BenchRecord> {
  const lines = (await readFile(file, 'utf8')).split('\n').filter((l) => l.startsWith('{'))
  let meta: MachineInfo | undefined
  const medians: MedianFigure[] = []
  const notes: RunNote[] = []
  for (const line of lines) {
    const r = JSON.parse(line) as { meta?: MachineInfo; median?: boolean; note?: RunNote } & MedianFigure
    if (r.meta) meta = r.meta
    else if (r.note) notes.push(r.note)
    else if (r.median) {
      const { median: _, ...figure } = r
      medians.push(figure)
    }
  }
  if (!meta) throw new Error(`${file}: no meta line; is it a record written by scripts/bench.ts?`)
  return { meta, medians, notes }
}

/** Charts drawn from a quick or smoke run say so: only the full run's are the reported figures. */
function provisional(meta: MachineInfo, notes: RunNote[]): string | undefined {
  if (meta.mode === 'full') return undefined
  const loads = notes.map((n) => n.load)
  return `PROVISIONAL: ${meta.mode} run, 1 round, load ${Math.min(...loads)}–${Math.max(...loads)}; the full run (npm run bench) replaces this chart`
}

const roundsOf = (medians: MedianFigure[]) => {
  const n = Math.max(...medians.map((f) => f.rounds))
  return `median${n > 1 ? 's' : ''} of ${n} round${n > 1 ? 's' : ''}`
}

function cpuChart(medians: MedianFigure[], meta: MachineInfo, notes: RunNote[]): string {
  const get = lookup(medians)
  const total = (scenario: string, system: string) => {
    const node = get(scenario, system, 'node CPU µs/task')
    const pg = get(scenario, system, 'postgres CPU µs/task')
    return node === undefined || pg === undefined ? undefined : node + pg
  }
  const groups: Group[] = [
    ['drain', 'drain'],
    ['e2e, 4 single producers', 'e2e-single'],
    ['e2e, 1 producer × 100', 'e2e-batch'],
  ].map(([label, scenario]) => ({
    label: label!,
    bars: SYSTEMS.map((series) => ({ series, value: total(scenario!, series) })),
  }))
  return barChart({
    title: 'CPU per settled task, µs (lower is better)',
    subtitle: `bench process + the run's PostgreSQL backends; ${roundsOf(medians)}; each group on its own scale`,
    note: provisional(meta, notes),
    unit: 'µs',
    groups,
    series: SYSTEMS,
    sharedScale: false,
  })
}

function throughputChart(medians: MedianFigure[], meta: MachineInfo, notes: RunNote[]): string {
  const get = lookup(medians)
  const groups: Group[] = [
    ['drain 20k preloaded', 'drain', 'tasks/s'],
    ['e2e, 4 single producers', 'e2e-single', 'settled tasks/s'],
    ['e2e, 1 producer × 100', 'e2e-batch', 'settled tasks/s'],
  ].map(([label, scenario, unit]) => ({
    label: label!,
    bars: SYSTEMS.map((series) => ({ series, value: get(scenario!, series, unit!) })),
  }))
  return barChart({
    title: 'Throughput: no-op tasks settled per second (higher is better)',
    subtitle: `${roundsOf(medians)}, ${meta.cores} cores, PostgreSQL ${meta.postgres}; each group on its own scale`,
    note: provisional(meta, notes),
    unit: '/s',
    groups,
    series: SYSTEMS,
    sharedScale: false,
  })
}

function latencyChart(medians: MedianFigure[], meta: MachineInfo, notes: RunNote[]): string {
  const get = lookup(medians)
  const groups: Group[] = [
    ['pickup p50 (idle)', 'latency', 'p50 ms'],
    ['pickup p95 (idle)', 'latency', 'p95 ms'],
    ['pickup p99 (idle)', 'latency', 'p99 ms'],
    ['e2e-single p99 (busy)', 'e2e-single', 'p99 ms'],
  ].map(([label, scenario, unit]) => ({
    label: label!,
    bars: SYSTEMS.map((series) => ({ series, value: get(scenario!, series, unit!) })),
  }))
  return barChart({
    title: 'Latency: enqueue → handler start, ms (lower is better)',
    subtitle: `${roundsOf(medians)}, ${meta.cores} cores, PostgreSQL ${meta.postgres}`,
    note: provisional(meta, notes),
    unit: 'ms',
    groups,
    series: SYSTEMS,
    sharedScale: true,
  })
}

function resultsSection({ meta, medians, notes }: BenchRecord, source: string): string {
  const loads = notes.map((n) => n.load)
  const failed = notes.filter((n) => n.error)
  const v = meta.versions
  const banner =
    meta.mode === 'full'
      ? []
      : [
          `> **PLACEHOLDER — provisional ${meta.mode}-run figures (${medians[0]?.rounds ?? 1} round, machine shared with other work:`,
          `> load ${Math.min(...loads)} – ${Math.max(...loads)} on ${meta.cores} cores).** The final full run (\`npm run bench\`, 3 rounds,`,
          '> quiet machine) regenerates this whole section and the charts from its own record.',
          '',
        ]
  return [
    START,
    '',
    ...banner,
    `_Generated by \`scripts/bench/write-report.ts\` from \`${source}\` (${meta.mode} run of ${meta.date.slice(0, 16).replace('T', ' ')} UTC, commit ${meta.commit})._`,
    '',
    `Machine: ${meta.cpu}, ${meta.cores} cores, ${meta.memoryGb} GB; Node ${meta.node}; PostgreSQL ${meta.postgres} ` +
      `(${Object.entries(meta.settings)
        .map(([k, s]) => `${k} ${s}`)
        .join(
          ', ',
        )}). tasklane ${v.tasklane}, pg-boss ${v['pg-boss']}, graphile-worker ${v['graphile-worker']}, autocannon ${v.autocannon}. ` +
      `1-minute load average at the start of runs: ${Math.min(...loads)} – ${Math.max(...loads)}.` +
      (failed.length
        ? ` **${failed.length} run(s) failed:** ${failed.map((n) => `${n.scenario}/${n.system}`).join(', ')}.`
        : ''),
    '',
    '![throughput](images/bench-throughput.svg)',
    '',
    '![latency](images/bench-latency.svg)',
    '',
    '![CPU per task](images/bench-cpu.svg)',
    '',
    '### tasklane against the peers',
    '',
    ratioTable(medians),
    '',
    '### Targets',
    '',
    targetTable(medians),
    '',
    '### tasklane only, and the PostgreSQL ceiling',
    '',
    otherTable(medians),
    '',
    ...(medians.some((f) => f.scenario.startsWith('ablation:'))
      ? ['### What each design choice buys', '', ablationTable(medians), '']
      : []),
    END,
  ].join('\n')
}

/** Rewrites the results section and charts; returns the files written. */
export async function writeReport(recordFile: string): Promise<string[]> {
  const record = await readRecord(recordFile)
  const root = fileURLToPath(ROOT)
  const source = recordFile.startsWith(root) ? recordFile.slice(root.length) : recordFile
  const doc = await readFile(DOC, 'utf8')
  const start = doc.indexOf(START)
  const end = doc.indexOf(END)
  if (start < 0 || end < start) throw new Error(`docs/benchmarks.md has no ${START} … ${END} section`)
  const next = `${doc.slice(0, start)}${resultsSection(record, source)}${doc.slice(end + END.length)}`
  const charts: Array<[URL, string]> = [
    [
      new URL('docs/images/bench-throughput.svg', ROOT),
      throughputChart(record.medians, record.meta, record.notes),
    ],
    [new URL('docs/images/bench-latency.svg', ROOT), latencyChart(record.medians, record.meta, record.notes)],
    [new URL('docs/images/bench-cpu.svg', ROOT), cpuChart(record.medians, record.meta, record.notes)],
  ]
  await writeFile(DOC, next)
  for (const [file, svg] of charts) await writeFile(file, svg)
  return [DOC, ...charts.map(([u]) => u)].map((u) => fileURLToPath(u).slice(root.length))
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = process.argv[2] ?? fileURLToPath(new URL('scripts/bench/results/full.jsonl', ROOT))
  const written = await writeReport(file)
  console.log(`wrote ${written.join(', ')}`)
}
