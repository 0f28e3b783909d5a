import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { type PublicApiReport, walkPublicApi } from '../support/public-api.ts'

// Issue 12, item 6: everything reachable from the package's entries (`tasklane`, `tasklane/dashboard`)
// is documented, and a user can name every type the API hands them. The type checker walks the API
// (test/support/public-api.ts): each export, each public member of an exported class, each property
// of each type they take or return, through promises, arrays, unions and generics.

describe("tasklane's public API", () => {
  let report: PublicApiReport

  beforeAll(() => {
    report = walkPublicApi()
  })

  it('is walked from each entry: functions, class members, options, nested shapes', () => {
    expect(report.walked).toEqual(
      expect.arrayContaining([
        'createTasklane',
        'dashboardRoutes',
        'Tasklane.addTask()',
        'TasklaneOptions.workers',
        'QueueOptions.prefetch',
        'TaskInfo.progress',
        'TaskFailureEvent.error',
      ]),
    )
  })

  it('exports every named type a public function, member or option takes or returns', () => {
    // Each entry: a type a user receives (or must build) but cannot import from 'tasklane'.
    expect(report.unexported).toEqual([])
  })

  it('names what each public function returns', () => {
    // A returned object literal type can only be named as Awaited<ReturnType<…>>: give it an interface.
    expect(report.unnamedReturns).toEqual([])
  })

  it('documents every export, member and option, and gives each function and method an example', () => {
    expect(report.undocumented).toEqual([])
  })
})

describe('the walker', () => {
  it('reports an unexported type, an unnamed returned shape and missing docs', () => {
    const fixture = path.join(import.meta.dirname, 'fixtures/public-api')
    const report = walkPublicApi({
      tsconfig: path.join(fixture, 'tsconfig.json'),
      entries: [path.join(fixture, 'index.ts')],
      root: fixture,
    })
    expect(report.unexported).toEqual([
      { name: 'Hidden', file: 'test/foundation/fixtures/public-api/hidden.ts', via: 'reveal → return' },
    ])
    expect(report.unnamedReturns).toEqual(['list()'])
    expect(report.undocumented).toEqual([
      { path: 'noExample', missing: '@example' },
      { path: 'undocumented', missing: 'doc' },
    ])
  })
})
