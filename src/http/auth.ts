import type { MiddlewareHandler } from 'hono'
import { getCookie } from 'hono/cookie'
import { presentedToken, TOKEN_COOKIE, tokenMatches } from '../auth/api-token.ts'
import { TasklaneError } from '../errors.ts'

// The token's parsing and comparison live in auth/, below both the API and the dashboard.
export { TOKEN_COOKIE, tokenMatches }

export interface AuthOptions {
  /** The API token (TASKLANE_API_TOKEN); without one, every request passes. */
  token: string | null | undefined
}

/**
 * Requires `Authorization: Bearer <token>` (or the tasklane_token cookie) when a token is configured.
 * Runs first on every route, so a rejected request is never read, let alone written.
 * @example app.get('/stats', bearerAuth({ token: config.apiToken }), handler)
 */
export function bearerAuth({ token }: AuthOptions): MiddlewareHandler {
  return async function requireToken(c, next) {
    if (!token) return next()
    const given = presentedToken(c.req.header('authorization'), getCookie(c, TOKEN_COOKIE))
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
