import path from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Hono } from 'hono'
import type { Tasklane } from '../tasklane.ts'
import type { TasklaneOptions } from '../tasklane-options.ts'
import type { TaskDefinition } from '../tasks/define-task.ts'

/**
 * What `tasklane serve` and `tasklane worker` run: a module exporting `tasks`, and optionally
 * `routes(tasklane)` (extra HTTP routes, served next to tasklane's) and `options` for createTasklane.
 */
export interface TaskModule {
  tasks: TaskDefinition<any, any>[]
  routes?: (tasklane: Tasklane) => Hono
  options?: Partial<TasklaneOptions>
}

const DEMO_MODULE = new URL('../demo/demo-module.ts', import.meta.url)

export async function loadTaskModule(file: string | undefined): Promise<TaskModule> {
  const url = file ? pathToFileURL(path.resolve(file)).href : DEMO_MODULE.href
  const mod = (await import(url)) as Partial<TaskModule> & { default?: Partial<TaskModule> }
  const m = mod.tasks ? mod : (mod.default ?? {})
  if (!Array.isArray(m.tasks)) {
    throw new Error(
      `${file ?? 'the demo module'} must export \`tasks\`: an array of tasks made with defineTask()`,
    )
  }
  return m as TaskModule
}
