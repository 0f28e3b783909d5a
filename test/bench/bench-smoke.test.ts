import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import type { SHARED_SCENARIOS } from '../../scripts/bench/report.ts'
import { readRecord } from '../../scripts/bench/write-report.ts'

const run = promisify(execFile)

// What every run of each scenario must report, per system. Values are only checked to be numbers:
// the machine may be busy with other suites, so speed is not what this test is about.
const SHARED_UNITS: Record<(typeof SHARED_SCENARIOS)[number], string[]> = {
  latency: ['p50 ms', 'p95 ms', 'p99 ms'],
  drain: ['tasks/s'],
  'e2e-single': ['settled tasks/s', 'enqueued tasks/s', 'p99 ms', 'backlog tasks'],
  'e2e-batch': ['settled tasks/s', 'enqueued tasks/s', 'backlog tasks'],
  memory: ['peak RSS MB', 'RSS before start MB', 'tasks/s'],
}
const TASKLANE_ONLY: Record<string, string[]> = {
  'http-enqueue': ['requests/s', 'p50 ms', 'p99 ms', 'non-2xx'],
  'stats-1m': ['stats p50 ms', 'stats p99 ms', 'analytics p50 ms', 'analytics p99 ms'],
  'stats-10m': ['stats p99 ms', 'analytics p99 ms', 'sql 365-day percentiles p99 ms', 'drop one month ms'],
}

interface Line {
  scenario: string
  system: string
  unit: string
  value: number
  rounds: number
}

describe('npm run bench -- --smoke', () => {
  let dir: string
  let stdout: string
  let figures: Line[]

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tasklane-bench-smoke-'))
    const admin = new URL(inject('templateUrl'))
    admin.pathname = '/postgres'
    const out = await run(
      process.execPath,
      ['--import', 'tsx', 'scripts/bench.ts', '--smoke', `--out=${join(dir, 'smoke.jsonl')}`],
      {
        env: { ...process.env, BENCH_ADMIN_URL: admin.toString(), BENCH_LOG_LEVEL: 'error' },
        maxBuffer: 16 * 1024 * 1024,
        // ~30 s on a quiet machine; setting up every run's database and system took 200 s on a loaded
        // 2-core one. A hung harness still fails here, a slow machine does not.
        timeout: 840_000,
      },
    )
    stdout = out.stdout
    figures = stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Line)
  }, 900_000)

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('reports every figure of the shared scenarios for tasklane, pg-boss and graphile-worker', () => {
    for (const [scenario, units] of Object.entries(SHARED_UNITS)) {
      for (const system of ['tasklane', 'pg-boss', 'graphile-worker']) {
        for (const unit of units) {
          const f = figures.find((x) => x.scenario === scenario && x.system === system && x.unit === unit)
          expect(f, `${scenario} / ${system} / ${unit}`).toBeDefined()
          expect(Number.isFinite(f!.value), `${scenario} / ${system} / ${unit} = ${f!.value}`).toBe(true)
          expect(f!.rounds).toBe(1)
        }
      }
    }
  })

  it("reports the tasklane-only scenarios, with every HTTP enqueue answered 2xx, and every worker's peak RSS", () => {
    for (const [scenario, units] of Object.entries(TASKLANE_ONLY)) {
      for (const unit of units) {
        const f = figures.find((x) => x.scenario === scenario && x.system === 'tasklane' && x.unit === unit)
        expect(f, `${scenario} / ${unit}`).toBeDefined()
        expect(Number.isFinite(f!.value)).toBe(true)
      }
    }
    expect(figures.find((x) => x.scenario === 'http-enqueue' && x.unit === 'non-2xx')!.value).toBe(0)
    expect(
      figures.find((x) => x.scenario === 'http-enqueue' && x.unit === 'requests/s')!.value,
    ).toBeGreaterThan(0)
    for (const system of ['tasklane', 'pg-boss', 'graphile-worker']) {
      const peak = figures.find(
        (x) => x.scenario === 'memory' && x.system === system && x.unit === 'peak RSS MB',
      )
      expect(peak!.value, system).toBeGreaterThan(10)
    }
  })

  it('measures each ablation both with and without its design choice', () => {
    for (const id of ['prefetch', 'notify', 'group-commit']) {
      const units = figures.filter((x) => x.scenario === `ablation:${id}`).map((x) => x.unit)
      expect(
        units.some((u) => u.endsWith('(with)')),
        id,
      ).toBe(true)
      expect(
        units.some((u) => u.endsWith('(without)')),
        id,
      ).toBe(true)
    }
    expect(stdout).toMatch(/## what each design choice buys/)
  })

  it('prints the ratio and target tables after the figures', () => {
    expect(stdout).toMatch(/## tasklane \/ peer/)
    expect(stdout).toMatch(/\| drain \| tasks\/s \| [\d,.]+ \| [\d,.]+ \| [\d,.]+× \|/)
    expect(stdout).toMatch(/## targets/)
    expect(stdout).toMatch(/\| latency p50 ≤ 3 ms \|/)
    expect(stdout).toMatch(/load average \(1 min\) at the start of runs: [\d.]+ – [\d.]+/)
  })

  it('writes a record that write-report can read: meta, medians and one note per run without errors', async () => {
    const record = await readRecord(join(dir, 'smoke.jsonl'))
    expect(record.meta.mode).toBe('smoke')
    expect(record.meta.versions['pg-boss']).toMatch(/^12\./)
    expect(record.meta.versions['graphile-worker']).toMatch(/^0\.18\./)
    expect(record.medians.length).toBe(figures.length)
    expect(record.notes.filter((n) => n.error)).toEqual([])
    // 4 shared scenarios × 3 systems + memory × 3 systems + 3 tasklane-only (http-enqueue, stats-1m,
    // stats-10m) + 3 ablations (+ the ceiling when pgbench is installed).
    expect(record.notes.filter((n) => n.scenario !== 'pg-ceiling').length).toBe(21)
    const raw = await readFile(join(dir, 'smoke.jsonl'), 'utf8')
    expect(raw.split('\n').filter((l) => l.includes('"round":0')).length).toBeGreaterThan(40)
  })
})
