import { describe, expect, it } from 'vitest'
import { recordTarget } from '../../scripts/bench/record-target.ts'

const ROOT = '/repo'
const run = (flags: Partial<Parameters<typeof recordTarget>[0]>) =>
  recordTarget({ mode: 'full', partial: false, publish: false, report: false, ...flags }, ROOT)

describe('where a benchmark run writes its record', () => {
  it('writes to the ignored bench-results/ by default, and rewrites no docs', () => {
    expect(run({ mode: 'full' })).toEqual({ out: '/repo/bench-results/full.jsonl', report: false })
    expect(run({ mode: 'quick' })).toEqual({ out: '/repo/bench-results/quick.jsonl', report: false })
  })

  it('writes no record for a smoke or a partial run unless given --out', () => {
    expect(run({ mode: 'smoke' })).toEqual({ out: undefined, report: false })
    expect(run({ partial: true })).toEqual({ out: undefined, report: false })
    expect(run({ mode: 'smoke', out: '/tmp/s.jsonl' })).toEqual({ out: '/tmp/s.jsonl', report: false })
  })

  it('writes the tracked record with --publish, and the report for a full run', () => {
    expect(run({ mode: 'full', publish: true })).toEqual({
      out: '/repo/scripts/bench/results/full.jsonl',
      report: true,
    })
    expect(run({ mode: 'quick', publish: true })).toEqual({
      out: '/repo/scripts/bench/results/quick.jsonl',
      report: false,
    })
    expect(run({ mode: 'quick', publish: true, report: true }).report).toBe(true)
  })

  it('rewrites the docs from any record with --report', () => {
    expect(run({ mode: 'quick', report: true })).toEqual({
      out: '/repo/bench-results/quick.jsonl',
      report: true,
    })
    expect(run({ partial: true, report: true })).toEqual({ out: undefined, report: false })
  })

  it('refuses --publish for a run that cannot replace the published record, saying what to do', () => {
    expect(() => run({ partial: true, publish: true })).toThrow(
      /--publish needs a whole quick or full run: a partial run cannot replace scripts\/bench\/results\/full\.jsonl\. Drop --publish, or use --out=FILE/,
    )
    expect(() => run({ mode: 'smoke', publish: true })).toThrow(/a smoke run cannot replace/)
    expect(() => run({ publish: true, out: 'x.jsonl' })).toThrow(/either --publish or --out/)
  })
})
