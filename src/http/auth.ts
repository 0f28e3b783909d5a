import { createHash, timingSafeEqual } from 'node:crypto'
import type { MiddlewareHandler } from 'hono'
import { getCookie } from 'hono/cookie'
import { TasklaneError } from '../errors.ts'

/** The cookie the dashboard keeps the token in, so a browser can call the API after one sign-in. */
export const TOKEN_COOKIE = 'tasklane_token'

export interface AuthOptions {
  /** The API token (TASKLANE_API_TOKEN); without one, every request passes. */
  token: string | null | undefined
}

// Hashing both sides first gives equal-length buffers (timingSafeEqual requires it) and keeps the
// comparison time independent of where, or whether, the lengths differ.
const digest = (s: string) => createHash('sha256').update(s).digest()

/** Constant-time token comparison. */
export function tokenMatches(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected))
}

function presented(authorization: string | undefined, cookie: string | undefined): string | null {
  const bearer = authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1] : undefined
  return bearer ?? cookie ?? null
}

/**
 * Requires `Authorization: Bearer <token>` (or the tasklane_token cookie) when a token is configured.
 * Runs first on every route, so a rejected request is never read, let alone written.
 * @example app.get('/stats', bearerAuth({ token: config.apiToken }), handler)
 */
export function bearerAuth({ token }: AuthOptions): MiddlewareHandler {
  return async function requireToken(c, next) {
    if (!token) return next()
    const given = presented(c.req.header('authorization'), getCookie(c, TOKEN_COOKIE))
    if (given === null || !tokenMatches(given, token)) {
      throw new TasklaneError(
        'unauthorized',
        given === null
          ? 'an API token is required: send Authorization: Bearer <TASKLANE_API_TOKEN>'
          : 'the API token is wrong: send the value of TASKLANE_API_TOKEN as Authorization: Bearer <token>',
      )
    }
    return next()
  }
}
