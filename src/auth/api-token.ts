import { createHash, timingSafeEqual } from 'node:crypto'

/**
 * The API token (TASKLANE_API_TOKEN) as a request presents it, shared by the API's middleware
 * (http/auth.ts) and the dashboard's sign-in (dashboard/dashboard-auth.ts), which both sit above it.
 */

/** The cookie the dashboard keeps the token in, so a browser can call the API after one sign-in. */
export const TOKEN_COOKIE = 'tasklane_token'

// Hashing both sides first gives equal-length buffers (timingSafeEqual requires it) and keeps the
// comparison time independent of where, or whether, the lengths differ.
const digest = (s: string) => createHash('sha256').update(s).digest()

/**
 * Constant-time token comparison.
 * @example tokenMatches(presented, config.apiToken) // true only for the exact token
 */
export function tokenMatches(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected))
}

/**
 * The token a request carries: the `Authorization: Bearer <token>` header's, else the cookie's, else null.
 * @example presentedToken(c.req.header('authorization'), getCookie(c, TOKEN_COOKIE))
 */
export function presentedToken(authorization: string | undefined, cookie: string | undefined): string | null {
  const bearer = authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1] : undefined
  return bearer ?? cookie ?? null
}
