import { createRequire } from 'node:module'
import { createRoute, z } from '@hono/zod-openapi'
import type { Context } from 'hono'
import { errorResponses } from '../error-handler.ts'
import { type RouteContext, SECURED } from '../route-context.ts'
import { docsPage } from './docs-page.ts'

// By the package's own name (its exports map ./package.json), so the path holds in the checkout and in dist/.
const { version } = createRequire(import.meta.url)('tasklane/package.json') as { version: string }
const TITLE = 'tasklane HTTP API'

const specRoute = createRoute({
  method: 'get',
  path: '/openapi.json',
  operationId: 'getOpenApiDocument',
  summary: 'This OpenAPI 3.1 document',
  security: SECURED,
  responses: {
    200: {
      description: 'the document',
      content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } },
    },
    ...errorResponses(401),
  },
})

const docsRoute = createRoute({
  method: 'get',
  path: '/docs',
  operationId: 'getDocsPage',
  summary: 'A page rendering this document (self-contained, no CDN)',
  security: SECURED,
  responses: {
    200: { description: 'HTML', content: { 'text/html': { schema: z.string() } } },
    ...errorResponses(401),
  },
})

/** Where these routes are mounted ('/api' when the request for '/api/docs' reached the route '/docs'). */
function mountPath(c: Context, routePath: string): string {
  const base = c.req.path.endsWith(routePath) ? c.req.path.slice(0, -routePath.length) : ''
  return base || '/'
}

export function registerDocsRoutes({ app, guard }: RouteContext): void {
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    description:
      'TASKLANE_API_TOKEN; the tasklane_token cookie is accepted too. Not needed when the server has no token.',
  })
  const document = (c: Context, routePath: string) =>
    app.getOpenAPI31Document({
      openapi: '3.1.0',
      info: {
        title: TITLE,
        version,
        // OpenAPI 3.1's SPDX `identifier` (the generator's types know only 3.0's `url`; a URL would
        // put a link to the web in the self-contained /docs page).
        license: { name: 'MIT', identifier: 'MIT' } as { name: string },
        description:
          'Durable background tasks on PostgreSQL. Errors are { "error": { "code", "message", "details" } }. Routes and shapes: docs/http.md.',
      },
      servers: [{ url: mountPath(c, routePath) }],
    })

  app.openapi({ ...specRoute, middleware: guard }, (c) => c.json({ ...document(c, '/openapi.json') }, 200))
  app.openapi({ ...docsRoute, middleware: guard }, (c) => c.html(docsPage(document(c, '/docs'), TITLE)))
}
