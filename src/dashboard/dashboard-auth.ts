import type { Context } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import { presentedToken, TOKEN_COOKIE, tokenMatches } from '../auth/api-token.ts'

/** How long the browser keeps the token after a sign-in. */
const COOKIE_MAX_AGE_S = 7 * 86_400

/**
 * Whether this request may see the dashboard: always when no token is configured, else when it
 * carries the token (the cookie set at sign-in, or a Bearer header as the API takes it).
 */
export function isSignedIn(c: Context, token: string | null): boolean {
  if (!token) return true
  const given = presentedToken(c.req.header('authorization'), getCookie(c, TOKEN_COOKIE))
  return given !== null && tokenMatches(given, token)
}

function isHttps(c: Context): boolean {
  return new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto') === 'https'
}

/**
 * Keeps the token in the cookie the API accepts (auth/api-token.ts), so the dashboard's fetch and
 * EventSource calls are authenticated without the script ever holding the token: HttpOnly keeps it
 * from scripts, SameSite=Strict keeps it off cross-site requests (no CSRF on cancel and retry).
 */
export function rememberToken(c: Context, token: string, path: string): void {
  setCookie(c, TOKEN_COOKIE, token, {
    path,
    httpOnly: true,
    sameSite: 'Strict',
    secure: isHttps(c),
    maxAge: COOKIE_MAX_AGE_S,
  })
}

export function forgetToken(c: Context, path: string): void {
  deleteCookie(c, TOKEN_COOKIE, { path, httpOnly: true, sameSite: 'Strict', secure: isHttps(c) })
}

/** The fields of the sign-in form; absent or non-text fields are null. */
export async function postedSignIn(c: Context): Promise<{ token: string | null; next: string | null }> {
  const form = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>)
  const text = (v: unknown) => (typeof v === 'string' ? v.trim() : null)
  return { token: text(form.token), next: text(form.next) }
}

/** Whether a posted token is the API token (the same constant-time comparison as the API's). */
export function isApiToken(given: string, token: string): boolean {
  return tokenMatches(given, token)
}
