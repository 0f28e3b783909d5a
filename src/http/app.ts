import { Hono } from 'hono'
import { dashboardRoutes } from '../dashboard/dashboard-routes.ts'
import { engineOf } from '../internal.ts'
import type { Tasklane } from '../tasklane.ts'
import { bearerAuth } from './auth.ts'
import { errorHandler, notFound } from './error-handler.ts'
import { routesOver } from './routes.ts'
import { type TasksEnv, withTasks } from './with-tasks.ts'

export interface AppOptions {
  tasks: Tasklane
  /** Routes of the task module (e.g. the demo's seed routes), served beside tasklane's. */
  extraRoutes?: Hono | undefined
}

/**
 * The HTTP app of `tasklane serve`: tasklaneRoutes, the dashboard at /dashboard (it has its own
 * sign-in page, so it sits before the token check), then the task module's routes. Those, and any
 * unknown path, sit behind the same token as tasklane's own routes (only /health is open), have the
 * instance on `c.var.tasks`, and get the same JSON errors.
 * @example serve({ fetch: createApp({ tasks }).fetch, port: 8000 })
 */
export function createApp({ tasks, extraRoutes }: AppOptions): Hono<TasksEnv> {
  const http = engineOf(tasks).http
  const app = new Hono<TasksEnv>()
  app.onError(errorHandler({ log: http.log }))
  app.notFound(notFound)
  app.route('/', routesOver(http))
  app.route('/dashboard', dashboardRoutes({ tasks: http }))
  // Registered after tasklane's routes, so it only runs for requests none of them answered.
  app.use('*', bearerAuth({ token: http.apiToken }), withTasks(tasks))
  if (extraRoutes) app.route('/', extraRoutes)
  return app
}
