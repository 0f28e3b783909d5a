import { TasklaneError } from '../errors.ts'
import { isTaskDefinition, type TaskDefinition } from './define-task.ts'

/** The tasks a Tasklane instance knows, by name. Rejects duplicates at construction. */
export class TaskRegistry {
  readonly #byName = new Map<string, TaskDefinition<any, any>>()

  constructor(tasks: readonly TaskDefinition<any, any>[]) {
    for (const task of tasks) {
      if (!isTaskDefinition(task)) {
        throw new TypeError('createTasklane({ tasks }) takes tasks made with defineTask({ name, run })')
      }
      if (this.#byName.has(task.name)) {
        throw new TypeError(`task '${task.name}' is defined twice: task names must be unique`)
      }
      this.#byName.set(task.name, task)
    }
  }

  get(name: string): TaskDefinition<any, any> | undefined {
    return this.#byName.get(name)
  }

  /** The task named `name`, or a 404-mapped error listing what exists. */
  require(name: string): TaskDefinition<any, any> {
    const task = this.#byName.get(name)
    if (!task) {
      const known = [...this.#byName.keys()].slice(0, 20).join(', ')
      throw new TasklaneError('unknown_task', `unknown task '${name}': known tasks are ${known || '(none)'}`)
    }
    return task
  }

  /** The registered definition for `task`, checking it is the same object that was registered. */
  resolve(task: unknown): TaskDefinition<any, any> {
    if (!isTaskDefinition(task)) {
      throw new TypeError(
        'addTask takes a task made with defineTask({ name, run }), not a function: a closure cannot be persisted. ' +
          'Define the task once at module level and register it in createTasklane({ tasks }).',
      )
    }
    const registered = this.#byName.get(task.name)
    if (!registered) {
      throw new TasklaneError(
        'unknown_task',
        `task '${task.name}' is not registered: add it to createTasklane({ tasks: [...] })`,
      )
    }
    return registered
  }

  all(): TaskDefinition<any, any>[] {
    return [...this.#byName.values()]
  }

  names(): string[] {
    return [...this.#byName.keys()]
  }

  queues(): string[] {
    return [...new Set(this.all().map((t) => t.queue))]
  }
}
