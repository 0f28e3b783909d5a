import type { Context, ErrorHandler, NotFoundHandler } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { type ErrorDetail, isDatabaseUnavailable, isPoolCheckoutTimeout, TasklaneError } from '../errors.ts'
import type { Logger } from '../logger.ts'
import { ErrorSchema } from './schemas.ts'

/** The one shape of every error answer: `{ error: { code, message, details } }`. */
export interface ErrorBody {
  error: { code: string; message: string; details: ErrorDetail[] }
}

export function errorJson(
  c: Context,
  status: ContentfulStatusCode,
  code: string,
  message: string,
  details: ErrorDetail[] = [],
): Response {
  return c.json<ErrorBody>({ error: { code, message, details } }, status)
}

// Errors hono itself raises (body limit, media-type gate, malformed JSON in its validator).
const HTTP_CODES: Partial<Record<number, string>> = {
  400: 'malformed_json',
  401: 'unauthorized',
  404: 'not_found',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
}

/** The error in `err`'s cause chain that makes the database unavailable to this request, if any. */
function unavailable(err: unknown): unknown {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (isDatabaseUnavailable(e)) return e
  }
  return undefined
}

/** What a 503 says: an outage, or a pool with no connection free in time (not an outage). */
function unavailableMessage(cause: unknown, err: Error, retryAfterSeconds: number): string {
  const why = (cause as { message?: unknown }).message || err.message
  return isPoolCheckoutTimeout(cause)
    ? `no database connection came free in time: this process's connection pool is busy (raise TASKLANE_MAX_CONNECTIONS, or the maxConnections or poolSize option, or send fewer requests at once), or the database is slow to answer: retry in ${retryAfterSeconds} s (${why})`
    : `the database is unreachable: retry in ${retryAfterSeconds} s (${why})`
}

export interface ErrorHandlerOptions {
  log: Logger
  /** Retry-After of a 503 while the database is unreachable, in seconds. */
  retryAfterSeconds?: number
}

/**
 * Maps every error to its answer, in one place: TasklaneError by its code's status, a lost database
 * to 503 with Retry-After (never 500: the request may simply be sent again), hono's own exceptions
 * to their status; anything else is a bug, logged, and answered 500 without internals.
 */
export function errorHandler({ log, retryAfterSeconds = 5 }: ErrorHandlerOptions): ErrorHandler {
  return function onError(err, c) {
    if (err instanceof TasklaneError) {
      if (err.code === 'unauthorized') c.header('WWW-Authenticate', 'Bearer realm="tasklane"')
      return errorJson(c, err.status as ContentfulStatusCode, err.code, err.message, err.details)
    }
    const cause = unavailable(err)
    if (cause) {
      c.header('Retry-After', String(retryAfterSeconds))
      return errorJson(c, 503, 'database_unavailable', unavailableMessage(cause, err, retryAfterSeconds))
    }
    if (err instanceof HTTPException) {
      const code = HTTP_CODES[err.status] ?? 'http_error'
      return errorJson(c, err.status as ContentfulStatusCode, code, err.message || code)
    }
    log.error({ err, method: c.req.method, path: c.req.path }, 'unhandled error in HTTP handler')
    return errorJson(c, 500, 'internal_error', 'internal error: the server log has the details')
  }
}

export const notFound: NotFoundHandler = (c) =>
  errorJson(c, 404, 'not_found', `no route ${c.req.method} ${c.req.path}: see /openapi.json for the routes`)

interface ZodIssueLike {
  path: ReadonlyArray<PropertyKey>
  message: string
  /** Set on 'unrecognized_keys' issues, whose path is the object holding them. */
  keys?: ReadonlyArray<string>
}

function issueDetails(issue: ZodIssueLike, target: string): ErrorDetail[] {
  const base = issue.path.map(String)
  const paths = issue.keys?.length ? issue.keys.map((k) => [...base, k]) : [base]
  return paths.map((p) => ({ path: p.length > 0 ? p.join('.') : target, message: issue.message }))
}

/**
 * zod-openapi's validation hook: a rejected param, query, header or body becomes a 400 naming the
 * field (thrown, so onError shapes it like every other error).
 */
export function validationHook(
  result: { success: boolean; target: string; error?: { issues: ReadonlyArray<ZodIssueLike> } },
  _c: Context,
): void {
  if (result.success) return
  const where = result.target === 'json' ? 'body' : result.target
  const details = (result.error?.issues ?? []).flatMap((i) => issueDetails(i, where))
  const first = details[0]
  throw new TasklaneError(
    'validation_failed',
    first ? `invalid ${where}: ${first.path}: ${first.message}` : `invalid ${where}`,
    details,
  )
}

/** OpenAPI responses for the given error statuses, all with the Error shape. */
export function errorResponses<const S extends number>(...statuses: S[]) {
  const description: Record<number, string> = {
    400: 'malformed JSON or invalid input (details name the field)',
    401: 'missing or wrong API token',
    404: 'unknown task name or id',
    409: 'state conflict, or idempotency key reused with a different body',
    413: 'body over the size limit',
    415: 'body is not application/json',
    503: 'database unreachable, or no connection free in time; see Retry-After',
  }
  return Object.fromEntries(
    statuses.map((s) => [
      s,
      { description: description[s] ?? 'error', content: { 'application/json': { schema: ErrorSchema } } },
    ]),
  ) as { [K in S]: { description: string; content: { 'application/json': { schema: typeof ErrorSchema } } } }
}
