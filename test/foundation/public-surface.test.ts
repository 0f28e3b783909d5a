import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.ts'
import * as api from '../../src/index.ts'
import { engineOf } from '../../src/internal.ts'
import { createTasklane, Tasklane } from '../../src/tasklane.ts'

// The public class is only the API (issue 12, item 1): internals are reached through src/internal.ts,
// which neither src/index.ts nor the package's exports expose.

const API = [
  'addTask',
  'addTasks',
  'cancel',
  'config',
  'events',
  'getAnalytics',
  'getAttempts',
  'getTask',
  'getTaskStats',
  'listSchedules',
  'listTasks',
  'listWorkers',
  'off',
  'on',
  'previewSchedule',
  'retry',
  'retryFailed',
  'runOnce',
  'schedule',
  'start',
  'started',
  'startedAt',
  'stop',
  'unschedule',
  'waitFor',
  'workerId',
]

describe('the public surface', () => {
  it('Tasklane has the API members and nothing else', () => {
    const members = Object.getOwnPropertyNames(Tasklane.prototype).filter((m) => m !== 'constructor')
    expect(members.sort()).toEqual(API)
    const tasks = createTasklane({ config: loadConfig({ LOG_LEVEL: 'silent' }), tasks: [] })
    expect(Object.keys(tasks)).toEqual([])
  })

  it('keeps the internals out of the package entry and its exports', () => {
    expect(Object.keys(api)).not.toContain('engineOf')
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'))
    // `tasklane/dashboard` (dashboardRoutes) is public API too; src/internal.ts is in no entry.
    expect(Object.keys(pkg.exports)).toEqual(['.', './dashboard', './package.json'])
    const tasks = createTasklane({ config: loadConfig({ LOG_LEVEL: 'silent' }), tasks: [] })
    expect(engineOf(tasks).settings.workers).toBe(4)
    expect(() => engineOf(tasks).db).toThrow(/tasklane is new: call await tasks.start\(\) first/)
    expect(() => engineOf({} as Tasklane)).toThrow(/not a tasklane instance/)
  })
})
