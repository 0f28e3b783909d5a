import { type Context, Hono, type MiddlewareHandler } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import type { TasklaneHttp } from '../http/tasklane-http.ts'
import { isTaskId } from '../inspect/task-reader.ts'
import { engineOf } from '../internal.ts'
import type { Tasklane } from '../tasklane.ts'
import { assetHandler } from './dashboard-assets.ts'
import { forgetToken, isApiToken, isSignedIn, postedSignIn, rememberToken } from './dashboard-auth.ts'
import { documentOf, type PageContext } from './pages/layout.tsx'
import { OverviewPage } from './pages/overview-page.tsx'
import { SignInPage } from './pages/sign-in-page.tsx'
import { TaskPage } from './pages/task-page.tsx'
import { type TaskFilter, TasksPage } from './pages/tasks-page.tsx'

/** What the dashboard reads of an instance (a part of its HTTP port). */
export type DashboardPort = Pick<TasklaneHttp, 'apiToken' | 'taskNames' | 'taskQueues'>

/**
 * Options of dashboardRoutes() (`import { dashboardRoutes } from 'tasklane/dashboard'`).
 * @example app.route('/admin/dashboard', dashboardRoutes({ tasks, apiBase: '/admin/api' }))
 */
export interface DashboardOptions {
  /**
   * The tasklane instance, or just what the dashboard reads of it: the API token and the task names
   * and queues (for the filters). Every figure and task the pages show comes from the public HTTP
   * API, fetched by the browser.
   */
  tasks: Tasklane | DashboardPort
  /** The token the pages require; give tasklaneRoutes' apiToken if you overrode it. Default config.apiToken. */
  apiToken?: string | null
  /**
   * Where tasklaneRoutes is mounted, as the browser sees it. Default: the parent of the dashboard's
   * own path ('' for '/dashboard', '/admin' for '/admin/dashboard').
   */
  apiBase?: string
}

/**
 * Security headers of every dashboard answer. The pages load only their own scripts and styles,
 * and talk only to this origin; no inline script or style exists, so none is allowed.
 */
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ')

const securityHeaders: MiddlewareHandler = async function securityHeaders(c, next) {
  await next()
  c.header('Content-Security-Policy', CSP)
  c.header('X-Content-Type-Options', 'nosniff')
  c.header('Referrer-Policy', 'same-origin')
}

/**
 * The web dashboard, a Hono app to mount at /dashboard next to tasklaneRoutes. Pages are rendered
 * on the server (structure only) and filled by small ES modules from GET /stats, /analytics,
 * /metrics, /tasks, /tasks/:id, and kept live with GET /events and GET /tasks/:id/events; actions
 * call POST /tasks/:id/cancel and /retry. Every asset is served from the package (no CDN).
 *
 * With a token configured, the pages ask for it once (POST /dashboard/sign-in) and keep it in the
 * tasklane_token cookie, which the API accepts in place of the Bearer header.
 * @example
 * app.route('/dashboard', dashboardRoutes({ tasks }))
 * app.route('/', tasklaneRoutes(tasks))
 */
export function dashboardRoutes(options: DashboardOptions): Hono {
  const tasks: DashboardPort = 'taskNames' in options.tasks ? options.tasks : engineOf(options.tasks).http
  const { apiToken = tasks.apiToken ?? null } = options
  const app = new Hono()
  const serveAsset = assetHandler()
  app.use('*', securityHeaders)

  /** Where this request reached the dashboard, given the route pattern that answered it. */
  const contextOf = (c: Context, pattern: string): PageContext => {
    const route = c.req.routePath
    // The overview's pattern '/' merges into the mount path itself ('/dashboard').
    const suffix = pattern === '/' ? '' : pattern
    const base = (route.endsWith(suffix) ? route.slice(0, route.length - suffix.length) : route).replace(
      /\/$/,
      '',
    )
    const api = options.apiBase ?? base.slice(0, base.lastIndexOf('/'))
    return { base, api, auth: Boolean(apiToken) }
  }
  /** The API's path (and the dashboard's parent) gets the cookie, so both see it. */
  const cookiePath = (ctx: PageContext) => (ctx.base.startsWith(`${ctx.api}/`) && ctx.api ? ctx.api : '/')

  const page = (c: Context, pattern: string, render: (ctx: PageContext) => unknown) => {
    const ctx = contextOf(c, pattern)
    c.header('Cache-Control', 'no-store')
    if (!isSignedIn(c, apiToken)) {
      const url = new URL(c.req.url)
      return c.html(documentOf(SignInPage({ ctx, next: url.pathname + url.search })))
    }
    return c.html(documentOf(render(ctx)))
  }

  app.get('/', (c) => page(c, '/', (ctx) => OverviewPage({ ctx, taskNames: [...tasks.taskNames()].sort() })))

  app.get('/tasks', (c) =>
    page(c, '/tasks', (ctx) =>
      TasksPage({
        ctx,
        filter: filterOf(c),
        taskNames: [...tasks.taskNames()].sort(),
        queues: [...tasks.taskQueues()].sort(),
      }),
    ),
  )

  app.get('/tasks/:id', (c) => {
    const id = c.req.param('id')
    if (!isTaskId(id)) {
      c.status(404)
      return page(c, '/tasks/:id', (ctx) => TaskPage({ ctx, taskId: id }))
    }
    return page(c, '/tasks/:id', (ctx) => TaskPage({ ctx, taskId: id.toLowerCase() }))
  })

  app.get('/assets/:name', serveAsset)

  app.post('/sign-in', bodyLimit({ maxSize: 8 * 1024 }), async (c) => {
    const ctx = contextOf(c, '/sign-in')
    const posted = await postedSignIn(c)
    const next = safeNext(posted.next, ctx.base)
    const token = posted.token
    c.header('Cache-Control', 'no-store')
    if (!apiToken) return c.redirect(next, 303)
    if (!token || !isApiToken(token, apiToken)) {
      c.status(401)
      return c.html(
        documentOf(SignInPage({ ctx, next, error: 'That token is not the API token: try again.' })),
      )
    }
    rememberToken(c, token, cookiePath(ctx))
    return c.redirect(next, 303)
  })

  app.post('/sign-out', (c) => {
    const ctx = contextOf(c, '/sign-out')
    forgetToken(c, cookiePath(ctx))
    return c.redirect(ctx.base, 303)
  })

  return app
}

function filterOf(c: Context): TaskFilter {
  const q = (name: string) => (c.req.query(name) ?? '').trim().slice(0, 200)
  return { status: q('status'), task: q('task'), queue: q('queue'), q: q('q') }
}

/** A same-dashboard path to return to after signing in; anything else (another origin) goes home. */
function safeNext(raw: string | null, base: string): string {
  if (!raw) return base
  const ok =
    (raw === base || raw.startsWith(`${base}/`) || raw.startsWith(`${base}?`)) && !raw.startsWith('//')
  return ok && !/[\\\s]/.test(raw) ? raw : base
}
