// From figures to conclusions: medians over rounds, tasklane/peer ratios, and the targets
// checked one by one. Used by scripts/bench.ts (printed) and write-report.ts (docs).
import { ABLATIONS, ablationScenario } from './ablations.ts'
import { median, round } from './stats.ts'
import type { Figure } from './system.ts'

export interface RoundFigure extends Figure {
  round: number
}

export interface MedianFigure extends Figure {
  rounds: number
  min: number
  max: number
}

export const PEERS = ['pg-boss', 'graphile-worker'] as const
export const SHARED_SCENARIOS = ['latency', 'drain', 'e2e-single', 'e2e-batch', 'memory'] as const

export function medians(figures: readonly RoundFigure[]): MedianFigure[] {
  const groups = new Map<string, RoundFigure[]>()
  for (const f of figures) {
    const key = JSON.stringify([f.scenario, f.system, f.unit])
    groups.set(key, [...(groups.get(key) ?? []), f])
  }
  return [...groups.values()].map((group) => {
    const { scenario, system, unit } = group[0] as RoundFigure
    const values = group.map((f) => f.value)
    return {
      scenario,
      system,
      unit,
      value: round(median(values)),
      rounds: values.length,
      min: round(Math.min(...values)),
      max: round(Math.max(...values)),
    }
  })
}

export type Lookup = (scenario: string, system: string, unit: string) => number | undefined

export function lookup(figures: readonly Figure[]): Lookup {
  const map = new Map(figures.map((f) => [`${f.scenario}|${f.system}|${f.unit}`, f.value]))
  return (scenario, system, unit) => map.get(`${scenario}|${system}|${unit}`)
}

/** Lower is better for times and backlogs; higher for rates. */
export function lowerIsBetter(unit: string): boolean {
  return /ms|backlog|MB|non-2xx/.test(unit)
}

export interface RatioRow {
  scenario: string
  unit: string
  tasklane: number | undefined
  peers: Record<(typeof PEERS)[number], { value: number | undefined; ratio: number | undefined }>
}

/** One row per (shared scenario, unit): tasklane's median and tasklane/peer for each peer. */
export function ratioRows(figures: readonly Figure[]): RatioRow[] {
  const get = lookup(figures)
  const rows: RatioRow[] = []
  for (const scenario of SHARED_SCENARIOS) {
    const units = [...new Set(figures.filter((f) => f.scenario === scenario).map((f) => f.unit))]
    for (const unit of units) {
      const tasklane = get(scenario, 'tasklane', unit)
      const peers = Object.fromEntries(
        PEERS.map((peer) => {
          const value = get(scenario, peer, unit)
          const ratio = tasklane !== undefined && value ? tasklane / value : undefined
          return [peer, { value, ratio }]
        }),
      ) as RatioRow['peers']
      rows.push({ scenario, unit, tasklane, peers })
    }
  }
  return rows
}

export interface TargetRow {
  target: string
  measured: string
  met: boolean | undefined
}

const num = (v: number | undefined, digits = 1) =>
  v === undefined || Number.isNaN(v) ? 'n/a' : v.toLocaleString('en-US', { maximumFractionDigits: digits })

/** The targets, each with the measured figure it is judged on. */
export function targetRows(figures: readonly Figure[]): TargetRow[] {
  const get = lookup(figures)
  const rows: TargetRow[] = []
  const atMost = (target: string, v: number | undefined, limit: number, unit: string) =>
    rows.push({ target, measured: `${num(v, 2)} ${unit}`, met: v === undefined ? undefined : v <= limit })
  const ratioAtLeast = (target: string, a: number | undefined, b: number | undefined, min: number) => {
    const r = a !== undefined && b ? a / b : undefined
    rows.push({
      target,
      measured: `${num(r, 2)}× (${num(a, 0)} / ${num(b, 0)})`,
      met: r === undefined ? undefined : r >= min,
    })
  }

  atMost('latency p50 ≤ 3 ms', get('latency', 'tasklane', 'p50 ms'), 3, 'ms')
  atMost('latency p99 ≤ 10 ms', get('latency', 'tasklane', 'p99 ms'), 10, 'ms')
  // Issue 13 asks more of the headline row (tasklane at its default settings).
  atMost('latency p50 ≤ 2 ms (issue 13)', get('latency', 'tasklane', 'p50 ms'), 2, 'ms')
  atMost('latency p99 ≤ 8 ms (issue 13)', get('latency', 'tasklane', 'p99 ms'), 8, 'ms')
  const drain = get('drain', 'tasklane', 'tasks/s')
  ratioAtLeast('drain ≥ 1.1× graphile-worker', drain, get('drain', 'graphile-worker', 'tasks/s'), 1.1)
  ratioAtLeast('drain ≥ 3× pg-boss', drain, get('drain', 'pg-boss', 'tasks/s'), 3)
  for (const scenario of ['e2e-single', 'e2e-batch']) {
    const settled = get(scenario, 'tasklane', 'settled tasks/s')
    ratioAtLeast(
      `${scenario} ≥ 1.2× graphile-worker`,
      settled,
      get(scenario, 'graphile-worker', 'settled tasks/s'),
      1.2,
    )
    // "No unbounded backlog": what is left at the end is at most one second of the settle rate.
    const backlog = get(scenario, 'tasklane', 'backlog tasks')
    rows.push({
      target: `${scenario} backlog ≤ 1 s of throughput`,
      measured: `${num(backlog, 0)} tasks (1 s = ${num(settled, 0)})`,
      met: backlog === undefined || settled === undefined ? undefined : backlog <= settled,
    })
  }
  const rps = get('http-enqueue', 'tasklane', 'requests/s')
  rows.push({
    target: 'http-enqueue ≥ 5,000 req/s',
    measured: `${num(rps, 0)} req/s`,
    met: rps === undefined ? undefined : rps >= 5000,
  })
  atMost('http-enqueue p99 ≤ 25 ms', get('http-enqueue', 'tasklane', 'p99 ms'), 25, 'ms')
  atMost('http-enqueue non-2xx = 0', get('http-enqueue', 'tasklane', 'non-2xx'), 0, '')
  for (const endpoint of ['stats', 'analytics']) {
    const v = get('stats-1m', 'tasklane', `${endpoint} p99 ms`)
    rows.push({
      target: `GET /${endpoint} p99 < 100 ms (1M rows)`,
      measured: `${num(v, 1)} ms`,
      met: v === undefined ? undefined : v < 100,
    })
  }
  const scaleTargets: Array<[string, string, number]> = [
    ['GET /stats p99 < 50 ms (10M rows)', 'stats p99 ms', 50],
    ['GET /analytics (24 h / 1 h) p99 < 100 ms (10M rows)', 'analytics p99 ms', 100],
    ['365-day per-task percentiles in SQL < 200 ms', 'sql 365-day percentiles p99 ms', 200],
    ["retention of one month's partition < 1 s", 'drop one month ms', 1000],
  ]
  for (const [target, unit, limit] of scaleTargets) {
    const v = get('stats-10m', 'tasklane', unit)
    rows.push({ target, measured: `${num(v, 1)} ms`, met: v === undefined ? undefined : v < limit })
  }
  const rss = get('memory', 'tasklane', 'peak RSS MB')
  rows.push({
    target: 'worker peak RSS < 150 MB',
    measured: `${num(rss, 0)} MB`,
    met: rss === undefined ? undefined : rss < 150,
  })
  rows.push({
    target: 'worker peak RSS < 120 MB (issue 13)',
    measured: `${num(rss, 0)} MB`,
    met: rss === undefined ? undefined : rss < 120,
  })
  return rows
}

const verdict = (met: boolean | undefined) => (met === undefined ? '—' : met ? 'met' : '**missed**')

export function ratioTable(figures: readonly Figure[]): string {
  const lines = [
    '| scenario | figure | tasklane | pg-boss | tasklane / pg-boss | graphile-worker | tasklane / graphile-worker |',
    '|---|---|--:|--:|--:|--:|--:|',
  ]
  for (const r of ratioRows(figures)) {
    const better = lowerIsBetter(r.unit) ? ' (lower is better)' : ''
    const cells = PEERS.flatMap((p) => [
      num(r.peers[p].value),
      r.peers[p].ratio === undefined ? 'n/a' : `${num(r.peers[p].ratio, 2)}×`,
    ])
    lines.push(`| ${r.scenario} | ${r.unit}${better} | ${num(r.tasklane)} | ${cells.join(' | ')} |`)
  }
  return lines.join('\n')
}

export function targetTable(figures: readonly Figure[]): string {
  const lines = ['| target | measured | verdict |', '|---|--:|---|']
  for (const t of targetRows(figures)) lines.push(`| ${t.target} | ${t.measured} | ${verdict(t.met)} |`)
  return lines.join('\n')
}

/** tasklane-only and PostgreSQL figures, which have no peer to divide by. */
export function otherTable(figures: readonly MedianFigure[]): string {
  const lines = ['| scenario | system | figure | median | min – max | rounds |', '|---|---|---|--:|--:|--:|']
  const shared = new Set<string>(SHARED_SCENARIOS)
  for (const f of figures.filter((f) => !shared.has(f.scenario) && !f.scenario.startsWith('ablation:'))) {
    lines.push(
      `| ${f.scenario} | ${f.system} | ${f.unit} | ${num(f.value)} | ${num(f.min)} – ${num(f.max)} | ${f.rounds} |`,
    )
  }
  return lines.join('\n')
}

/** Ablations: each figure with the design choice and without it, and how much the choice buys. */
export function ablationTable(figures: readonly Figure[]): string {
  const get = lookup(figures)
  const lines = [
    '| design choice | scenario | figure | with | without | with / without |',
    '|---|---|---|--:|--:|--:|',
  ]
  for (const a of ABLATIONS) {
    const scenario = ablationScenario(a)
    for (const unit of a.units) {
      const w = get(scenario, 'tasklane', `${unit} (with)`)
      const wo = get(scenario, 'tasklane', `${unit} (without)`)
      const ratio = w !== undefined && wo ? `${num(w / wo, 2)}×` : 'n/a'
      lines.push(`| ${a.choice} | ${a.scenario.name} | ${unit} | ${num(w)} | ${num(wo)} | ${ratio} |`)
    }
  }
  lines.push('', ...ABLATIONS.map((a) => `- *${a.choice}* undone: ${a.without}.`))
  return lines.join('\n')
}
