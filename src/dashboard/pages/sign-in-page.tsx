import { Layout, type PageContext } from './layout.tsx'

/**
 * Asks once for TASKLANE_API_TOKEN. The form posts to /dashboard/sign-in, which keeps the token in
 * the tasklane_token cookie (HttpOnly) and sends the browser back to `next`. No script: it works
 * before anything else does.
 */
export function SignInPage({ ctx, next, error }: { ctx: PageContext; next: string; error?: string }) {
  return (
    <Layout ctx={ctx} page="sign-in" title="Sign in">
      <form class="card sign-in" method="post" action={`${ctx.base}/sign-in`}>
        <h1>Sign in</h1>
        <p>
          This server requires its API token. Enter the value of <code>TASKLANE_API_TOKEN</code>; the browser
          keeps it in a cookie, so you enter it once.
        </p>
        {error ? (
          <p class="error" role="alert" id="sign-in-error">
            {error}
          </p>
        ) : null}
        <input type="hidden" name="next" value={next} />
        <label>
          <span>API token</span>
          <input
            type="password"
            name="token"
            required
            autocomplete="current-password"
            autofocus
            aria-describedby={error ? 'sign-in-error' : undefined}
          />
        </label>
        <button type="submit">Sign in</button>
      </form>
    </Layout>
  )
}
