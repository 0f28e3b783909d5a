import type { TasklaneEngine } from './tasklane-engine.ts'

// The engine behind each Tasklane, apart from both the class (tasklane.ts registers) and the internal
// entry (internal.ts looks up), so that neither imports the other. A WeakMap rather than a member of
// Tasklane, so that neither the class nor its declarations (dist/src/tasklane.d.ts) mention the engine,
// whose types reach pg-boss's. Keyed by `object`: this module need not know the class.
const engines = new WeakMap<object, TasklaneEngine>()

/** Called once by Tasklane's constructor. */
export function registerEngine(tasks: object, engine: TasklaneEngine): void {
  engines.set(tasks, engine)
}

/** The engine registered for `tasks`, or undefined when it was not made by Tasklane's constructor. */
export function registeredEngine(tasks: object): TasklaneEngine | undefined {
  return engines.get(tasks)
}
