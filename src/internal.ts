// Internals of tasklane, for this repository's HTTP layer, tests, benchmarks, examples and tools: not
// public API. Not exported from src/index.ts nor listed in package.json `exports`, and free to change.
import { registeredEngine } from './engine-registry.ts'
import type { Tasklane } from './tasklane.ts'
import type { TasklaneEngine } from './tasklane-engine.ts'

export type { TasklaneEngine } from './tasklane-engine.ts'

/**
 * The engine behind a Tasklane: its settings, registry, log and hooks, the runtime's parts once
 * started (db, bus, boss, runners, scheduler) and the services over them.
 * @throws TypeError when `tasks` was not made with createTasklane().
 * @example const db = engineOf(tasks).db // tasklane's Kysely, scoped to its schema
 */
export function engineOf(tasks: Tasklane): TasklaneEngine {
  const engine = registeredEngine(tasks)
  if (!engine) throw new TypeError('not a tasklane instance: make one with createTasklane()')
  return engine
}
