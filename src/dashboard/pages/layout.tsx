import type { Child } from 'hono/jsx'

export type PageName = 'overview' | 'tasks' | 'task' | 'sign-in'

/** Where the page is served and where the API it calls lives, as the browser sees them. */
export interface PageContext {
  /** Path of the dashboard ('/dashboard'). */
  base: string
  /** Path prefix of the HTTP API ('' when it is mounted at '/'). */
  api: string
  /** A token is configured: pages offer to sign out. */
  auth: boolean
}

interface LayoutProps {
  ctx: PageContext
  page: PageName
  title: string
  /** Extra data-* attributes of <body>, read by the page script. */
  data?: Record<string, string>
  children?: Child
}

const NAV: Array<{ page: PageName; label: string; path: string }> = [
  { page: 'overview', label: 'Overview', path: '' },
  { page: 'tasks', label: 'Tasks', path: '/tasks' },
]

/**
 * The frame of every page: a header with navigation and the live-connection indicator, the notice
 * region actions report into, and the confirmation dialog they ask through. The page's data is
 * fetched by its script from the public HTTP API; the server renders only the structure.
 */
export function Layout({ ctx, page, title, data = {}, children }: LayoutProps) {
  const dataAttrs = Object.fromEntries(Object.entries(data).map(([k, v]) => [`data-${k}`, v]))
  const current = page === 'task' ? 'tasks' : page
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light dark" />
        <title>{`${title} · tasklane`}</title>
        <link rel="icon" href={`${ctx.base}/assets/favicon.svg`} type="image/svg+xml" />
        <link rel="stylesheet" href={`${ctx.base}/assets/dashboard.css`} />
        {page === 'sign-in' ? null : <script type="module" src={`${ctx.base}/assets/${page}.js`} />}
      </head>
      <body data-base={ctx.base} data-api={ctx.api} data-page={page} {...dataAttrs}>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="top">
          <a class="brand" href={ctx.base}>
            tasklane
          </a>
          {page === 'sign-in' ? null : (
            <nav aria-label="Dashboard">
              {NAV.map((n) => (
                <a href={`${ctx.base}${n.path}`} aria-current={n.page === current ? 'page' : undefined}>
                  {n.label}
                </a>
              ))}
            </nav>
          )}
          <span class="spacer" />
          {page === 'sign-in' ? null : (
            <span id="live" class="live" data-state="connecting">
              connecting…
            </span>
          )}
          {ctx.auth && page !== 'sign-in' ? (
            <form method="post" action={`${ctx.base}/sign-out`} class="sign-out">
              <button type="submit" class="link">
                Sign out
              </button>
            </form>
          ) : null}
        </header>
        <main id="main" tabindex={-1}>
          {children}
        </main>
        <div id="notice" class="notice" role="status" aria-live="polite" />
        <dialog id="confirm" aria-labelledby="confirm-title">
          <form method="dialog">
            <h2 id="confirm-title">Confirm</h2>
            <p id="confirm-text" />
            <div class="buttons">
              <button type="submit" value="back" class="secondary">
                Back
              </button>
              <button type="submit" value="confirm" id="confirm-ok" autofocus>
                Confirm
              </button>
            </div>
          </form>
        </dialog>
      </body>
    </html>
  )
}

/** A full HTML document: the doctype, then the rendered page. */
export function documentOf(node: unknown): string {
  return `<!doctype html>${String(node)}`
}
