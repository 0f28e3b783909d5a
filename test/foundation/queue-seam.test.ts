import { readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import { seamViolations, sourceFiles } from '../support/queue-seam.ts'

const SRC = join(import.meta.dirname, '../../src')
const FIXTURES = join(import.meta.dirname, 'fixtures/queue-seam')

describe('the queue seam', () => {
  it('keeps pg-boss inside src/queue/: no file above it imports pg-boss, names its schema or its tables, or reads its failure output', () => {
    const files = sourceFiles(SRC)
      .map((f) => relative(SRC, f))
      .filter((f) => !f.startsWith('queue/'))
    expect(files.length).toBeGreaterThan(50)
    const found = files.flatMap((f) => seamViolations(f, readFileSync(join(SRC, f), 'utf8')))
    expect(found).toEqual([])
  })

  it('finds each kind of reach past the port in a fixture', () => {
    const found = seamViolations('stats/fixture.ts', readFileSync(join(FIXTURES, 'reaching.ts.txt'), 'utf8'))
    expect(found.filter((f) => f.includes('imports pg-boss'))).toHaveLength(1)
    expect(found.filter((f) => f.includes('names bossSchema'))).toHaveLength(1)
    expect(found.filter((f) => f.includes('pg-boss table')).length).toBe(3)
    expect(found.filter((f) => f.includes('job state')).length).toBe(2)
    // The typed read counts once per line: `value?: { message` and `.value?.message` on one line.
    expect(found.filter((f) => f.includes('failure output')).length).toBe(4)
  })

  it("leaves tasklane's own words alone (status columns, .job properties, === comparisons, comments)", () => {
    expect(seamViolations('worker/fixture.ts', readFileSync(join(FIXTURES, 'clean.ts.txt'), 'utf8'))).toEqual(
      [],
    )
  })
})
