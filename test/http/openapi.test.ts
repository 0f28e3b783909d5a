import { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../../src/http/app.ts'
import { tasklaneRoutes } from '../../src/http/routes.ts'
import type { TasksEnv } from '../../src/http/with-tasks.ts'
import type { Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'
import { call } from './helpers/call.ts'

const note = defineTask({ name: 'note', async run() {} })

const ROUTES = {
  // POST /tasks/:name and GET /tasks/:id share one template (OpenAPI tools reject two paths that
  // differ only in a parameter's name); each operation describes what it takes.
  '/tasks/{task}': ['post', 'get'],
  '/tasks/{name}/batch': ['post'],
  '/tasks': ['get'],
  '/tasks/{id}/cancel': ['post'],
  '/tasks/{id}/retry': ['post'],
  '/tasks/{id}/events': ['get'],
  '/events': ['get'],
  '/stats': ['get'],
  '/analytics': ['get'],
  '/workers': ['get'],
  '/schedules': ['get'],
  '/schedules/preview': ['get'],
  '/tasks/{name}/retry-failed': ['post'],
  '/metrics': ['get'],
  '/health': ['get'],
  '/ready': ['get'],
  '/openapi.json': ['get'],
  '/docs': ['get'],
}

describe('GET /openapi.json and GET /docs', () => {
  let db: TestDatabase
  let tasks: Tasklane
  let app: Hono<TasksEnv>

  beforeAll(async () => {
    db = await createTestDatabase()
    tasks = await startTasklane(db.url, [note], { workers: 0 })
    app = createApp({ tasks })
  })
  afterAll(async () => {
    await tasks?.stop()
    await db?.drop()
  })

  it('is an OpenAPI 3.1 document of every route, with the shared shapes', async () => {
    const res = await call(app, 'GET', '/openapi.json')
    expect(res.status).toBe(200)
    const doc = res.json
    expect(doc.openapi).toBe('3.1.0')
    expect(doc.servers).toEqual([{ url: '/' }])
    for (const [path, methods] of Object.entries(ROUTES)) {
      expect(Object.keys(doc.paths[path] ?? {}), path).toEqual(methods)
    }
    expect(Object.keys(doc.paths).sort()).toEqual(Object.keys(ROUTES).sort())
    expect(Object.keys(doc.components.schemas)).toEqual(
      expect.arrayContaining([
        'TaskInfo',
        'TaskStats',
        'Analytics',
        'Error',
        'EnqueueRequest',
        'EnqueueResult',
      ]),
    )
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' })
    expect(doc.paths['/tasks/{task}'].post.responses['409'].content['application/json'].schema.$ref).toBe(
      '#/components/schemas/Error',
    )
    expect(doc.paths['/health'].get.security).toEqual([])
  })

  it('names the mount path as its server when mounted under a prefix', async () => {
    const host = new Hono().route('/api', tasklaneRoutes(tasks))
    const doc = (await (await host.request('/api/openapi.json')).json()) as { servers: unknown }
    expect(doc.servers).toEqual([{ url: '/api' }])
    expect((await host.request('/api/stats')).status).toBe(200)
  })

  it('/docs is a self-contained page: the document inline, no external script, style or font', async () => {
    const res = await call(app, 'GET', '/docs')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('text/html')
    const html = res.text
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)=/i)
    expect(html).not.toMatch(/https?:\/\//)
    const spec = /<script type="application\/json" id="spec">([\s\S]*?)<\/script>/.exec(html)?.[1]
    expect(JSON.parse(spec!).paths['/stats']).toBeDefined()
    // The renderer must at least be valid JavaScript.
    const script = /<script>([\s\S]*?)<\/script>/.exec(html)?.[1]
    expect(() => new Function(script!)).not.toThrow()
  })
})
