import path from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Hono } from 'hono'
import { siblingModuleUrl } from '../sibling-module.ts'
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

const DEMO_MODULE = siblingModuleUrl('../demo/demo-module.ts', import.meta.url)

/** Errors of Node's loader meaning "this Node cannot run this TypeScript file". */
const TYPESCRIPT_NOT_LOADABLE = new Set([
  'ERR_UNKNOWN_FILE_EXTENSION', // Node < 22.18 (no type stripping by default)
  'ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX', // enums, namespaces, parameter properties: not erasable
  'ERR_INVALID_TYPESCRIPT_SYNTAX',
  'ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING',
])

/**
 * Imports the task module named by `--tasks` / TASKLANE_TASKS (a path, resolved from the working
 * directory), or the demo module when none is named.
 * @throws Error naming the file and what to do: no such file, no `tasks` export, or a TypeScript file
 *   this Node cannot load.
 * @example const mod = await loadTaskModule('./tasks.js') // { tasks, routes?, options? }
 */
export async function loadTaskModule(file: string | undefined): Promise<TaskModule> {
  const url = file ? pathToFileURL(path.resolve(file)).href : DEMO_MODULE.href
  let mod: Partial<TaskModule> & { default?: Partial<TaskModule> }
  try {
    mod = await import(url)
  } catch (err) {
    throw file ? explainImportFailure(file, url, err) : err
  }
  const m = mod.tasks ? mod : (mod.default ?? {})
  if (!Array.isArray(m.tasks)) {
    throw new Error(
      `${file ?? 'the demo module'} must export \`tasks\`: an array of tasks made with defineTask()`,
    )
  }
  return m as TaskModule
}

function explainImportFailure(file: string, url: string, err: unknown): unknown {
  const { code, url: failedUrl } = err as { code?: string; url?: string }
  if (code === 'ERR_MODULE_NOT_FOUND' && failedUrl === url) {
    return new Error(`the task module ${file} does not exist (resolved to ${path.resolve(file)})`, {
      cause: err,
    })
  }
  if (code && TYPESCRIPT_NOT_LOADABLE.has(code) && /\.[cm]?tsx?$/.test(file)) {
    return new Error(
      `Node ${process.version} cannot load the TypeScript task module ${file} (${code}: ${(err as Error).message}). ` +
        'Compile it to JavaScript and pass the .js file to --tasks, or use Node >= 22.18, which runs ' +
        'TypeScript that only needs its types erased (no enums or namespaces; imports name their .ts files), ' +
        'or run the CLI under a loader: node --import tsx node_modules/tasklane/bin/tasklane.js serve --tasks ' +
        file,
      { cause: err },
    )
  }
  return err
}
