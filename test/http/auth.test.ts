import { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../../src/http/app.ts'
import { tokenMatches } from '../../src/http/auth.ts'
import { tasklaneRoutes } from '../../src/http/routes.ts'
import type { TasksEnv } from '../../src/http/with-tasks.ts'
import type { Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'
import { call } from './helpers/call.ts'
import { rowCounts } from './helpers/row-counts.ts'

const TOKEN = 'test-token-0123456789abcdef'
const note = defineTask({ name: 'note', async run() {} })

describe('auth with TASKLANE_API_TOKEN', () => {
  let db: TestDatabase
  let tasks: Tasklane
  let app: Hono<TasksEnv>

  beforeAll(async () => {
    db = await createTestDatabase()
    tasks = await startTasklane(db.url, [note], { workers: 0, env: { TASKLANE_API_TOKEN: TOKEN } })
    const extra = new Hono().get('/hello', (c) => c.text('hi'))
    app = createApp({ tasks, extraRoutes: extra })
  })
  afterAll(async () => {
    await tasks?.stop()
    await db?.drop()
  })

  const routes: Array<[string, string]> = [
    ['GET', '/stats'],
    ['GET', '/tasks'],
    ['GET', '/tasks/00000000-0000-4000-8000-000000000000'],
    ['GET', '/events'],
    ['GET', '/metrics'],
    ['GET', '/analytics'],
    ['GET', '/ready'],
    ['GET', '/openapi.json'],
    ['GET', '/docs'],
    ['POST', '/tasks/note'],
    ['POST', '/tasks/note/batch'],
    ['POST', '/tasks/00000000-0000-4000-8000-000000000000/cancel'],
    ['GET', '/hello'],
    ['GET', '/no-such-route'],
  ]

  it.each(routes)('%s %s without a token is a 401 and writes nothing', async (method, path) => {
    const before = await rowCounts(db)
    const res = await call(app, method, path, method === 'POST' ? { json: { args: {}, items: [{}] } } : {})
    expect(res.status).toBe(401)
    expect(res.json.error.code).toBe('unauthorized')
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/)
    expect(await rowCounts(db)).toEqual(before)
  })

  it.each([
    ['a wrong token of the same length', `Bearer ${TOKEN.replace('0', 'x')}`],
    ['a shorter token', 'Bearer short'],
    ['another scheme', `Basic ${TOKEN}`],
  ])('%s is a 401', async (_what, authorization) => {
    const before = await rowCounts(db)
    const res = await call(app, 'POST', '/tasks/note', { json: { args: {} }, headers: { authorization } })
    expect(res.status).toBe(401)
    expect(await rowCounts(db)).toEqual(before)
  })

  it('the right token passes, as a bearer header or the tasklane_token cookie', async () => {
    const bearer = await call(app, 'GET', '/stats', { headers: { authorization: `Bearer ${TOKEN}` } })
    expect(bearer.status).toBe(200)
    const cookie = await call(app, 'GET', '/stats', { headers: { cookie: `tasklane_token=${TOKEN}` } })
    expect(cookie.status).toBe(200)
    const posted = await call(app, 'POST', '/tasks/note', {
      json: { args: {} },
      headers: { authorization: `bearer ${TOKEN}` },
    })
    expect(posted.status).toBe(202)
    const extra = await call(app, 'GET', '/hello', { headers: { authorization: `Bearer ${TOKEN}` } })
    expect(extra.text).toBe('hi')
  })

  it('serves the dashboard, whose own sign-in page needs no token', async () => {
    const res = await app.request('/dashboard')
    expect(res.status).not.toBe(401)
    expect(res.status).toBeLessThan(400)
    expect(res.headers.get('content-type') ?? res.headers.get('location')).toBeTruthy()
  })

  it('/health needs no token', async () => {
    const res = await call(app, 'GET', '/health')
    expect(res.status).toBe(200)
    expect(res.json).toEqual({ status: 'ok' })
  })

  it("mounted in a host app at '/', guards tasklane's routes but not the host's own", async () => {
    const host = new Hono()
    host.route('/', tasklaneRoutes(tasks))
    host.get('/mine', (c) => c.text('open'))
    expect((await host.request('/mine')).status).toBe(200)
    expect((await host.request('/stats')).status).toBe(401)
  })

  it('compares tokens in constant time, whatever their lengths', () => {
    expect(tokenMatches(TOKEN, TOKEN)).toBe(true)
    expect(tokenMatches('', TOKEN)).toBe(false)
    expect(tokenMatches(`${TOKEN}x`, TOKEN)).toBe(false)
  })
})
