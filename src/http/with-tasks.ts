import type { MiddlewareHandler } from 'hono'
import type { Tasklane } from '../tasklane.ts'

/**
 * Hono env of routes that read the tasklane instance from the context (set by withTasks).
 * @example const app = new Hono<TasksEnv>()
 */
export interface TasksEnv {
  /** `c.var.tasks`: the tasklane instance. */
  Variables: { tasks: Tasklane }
}

/**
 * Hono middleware that puts `tasks` on `c.var.tasks`, for your own routes next to tasklane's (which
 * tasklaneRoutes mounts).
 * @example
 * app.use('/orders/*', withTasks(tasks))
 * app.post('/orders', async (c) => c.json(await c.var.tasks.addTask(sendReceipt, { orderId: 1 }), 202))
 */
export function withTasks(tasks: Tasklane): MiddlewareHandler<TasksEnv> {
  return async function setTasks(c, next) {
    c.set('tasks', tasks)
    await next()
  }
}
