import type { MiddlewareHandler } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { TasklaneError } from '../errors.ts'

const JSON_TYPE = /^application\/([a-z0-9.+-]*\+)?json\s*(;.*)?$/i

function isJsonType(contentType: string): boolean {
  return JSON_TYPE.test(contentType.trim())
}

/**
 * Body checks of a JSON route, in the order a client can act on: 413 over `maxBytes` (hono's
 * bodyLimit: Content-Length, or counted while reading), 415 for a body that is not declared JSON,
 * 400 for JSON that does not parse. The parsed body is cached by hono, so the route's validator
 * reads it without parsing again. An empty body without a Content-Type is allowed (no args).
 * @example app.post('/tasks/:name', ...jsonBody({ maxBytes: 1 << 20 }), handler)
 */
export function jsonBody({ maxBytes }: { maxBytes: number }): MiddlewareHandler[] {
  const limit = bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new TasklaneError(
        'payload_too_large',
        `request body is over the limit of ${maxBytes} bytes (TASKLANE_MAX_BODY): send fewer or smaller items`,
      )
    },
  })
  const parse: MiddlewareHandler = async function parseJson(c, next) {
    const contentType = c.req.header('content-type')
    if (!contentType) {
      if ((await c.req.text()).length === 0) return next()
      throw unsupported('none')
    }
    if (!isJsonType(contentType)) throw unsupported(contentType)
    try {
      await c.req.json()
    } catch (err) {
      throw new TasklaneError('malformed_json', `request body is not valid JSON: ${(err as Error).message}`, [
        { path: 'body', message: (err as Error).message },
      ])
    }
    return next()
  }
  return [limit, parse]
}

function unsupported(contentType: string): TasklaneError {
  return new TasklaneError(
    'unsupported_media_type',
    `request body must be JSON (Content-Type: application/json), got Content-Type: ${contentType}`,
  )
}
