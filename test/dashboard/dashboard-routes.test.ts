import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { dashboardRoutes } from '../../src/dashboard/dashboard-routes.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { TaskRegistry } from '../../src/tasks/registry.ts'

// The pages and the sign-in, in process: no database or browser is needed, since the dashboard
// itself reads nothing but the instance's token and task names (its data comes from the API).

const TOKEN = 'dashboard-routes-test-token'
const registry = new TaskRegistry([
  defineTask({ name: 'send-email', queue: 'emails', async run() {} }),
  defineTask({ name: 'build-report', async run() {} }),
])

function appWith(apiToken: string | undefined, mount = '/dashboard'): Hono {
  const app = new Hono()
  app.route(
    mount,
    dashboardRoutes({
      tasks: { apiToken, taskNames: () => registry.names(), taskQueues: () => registry.queues() },
    }),
  )
  return app
}

const form = (fields: Record<string, string>, cookie?: string) => ({
  method: 'POST',
  headers: {
    'content-type': 'application/x-www-form-urlencoded',
    ...(cookie ? { cookie } : {}),
  },
  body: new URLSearchParams(fields).toString(),
})

describe('dashboard routes', () => {
  it('serves the pages with their script, the API base, the task names and a strict CSP', async () => {
    const app = appWith(undefined)
    const res = await app.request('/dashboard/tasks?status=failed&task=send-email')
    expect(res.status).toBe(200)
    const csp = res.headers.get('content-security-policy') ?? ''
    expect(csp).toContain("script-src 'self'")
    expect(csp).toContain("connect-src 'self'")
    const html = await res.text()
    expect(html.startsWith('<!doctype html>')).toBe(true)
    expect(html).toContain('<script type="module" src="/dashboard/assets/tasks.js">')
    expect(html).toContain('data-api=""')
    expect(html).toMatch(/<option value="send-email" selected="">send-email<\/option>/)
    expect(html).toMatch(/<option value="failed" selected="">failed<\/option>/)
    expect(html).not.toContain('Sign out')
    expect(html).not.toMatch(/<script>|<style>| style="/)
  })

  it('takes its base and the API base from where it is mounted', async () => {
    const res = await appWith(undefined, '/admin/dashboard').request('/admin/dashboard')
    const html = await res.text()
    expect(html).toContain('data-base="/admin/dashboard"')
    expect(html).toContain('data-api="/admin"')
    expect(html).toContain('src="/admin/dashboard/assets/overview.js"')
  })

  it('serves only its own assets, with an ETag that answers 304', async () => {
    const app = appWith(undefined)
    const js = await app.request('/dashboard/assets/common.js')
    expect(js.status).toBe(200)
    expect(js.headers.get('content-type')).toContain('text/javascript')
    const etag = js.headers.get('etag')!
    expect(
      (await app.request('/dashboard/assets/common.js', { headers: { 'if-none-match': etag } })).status,
    ).toBe(304)
    for (const path of ['/dashboard/assets/nope.js', '/dashboard/assets/..%2F..%2F..%2Fpackage.json']) {
      expect((await app.request(path)).status).toBe(404)
    }
  })

  it('answers a malformed task id with a 404 page', async () => {
    const res = await appWith(undefined).request('/dashboard/tasks/not-a-task-id')
    expect(res.status).toBe(404)
    expect(await res.text()).toContain('data-task-id="not-a-task-id"')
  })

  it('with a token, shows the sign-in form (no data, no script) until the token is given', async () => {
    const app = appWith(TOKEN)
    const res = await app.request('/dashboard/tasks?status=failed')
    expect(res.status).toBe(200)
    const html = await res.text()
    expect(html).toContain('name="token"')
    expect(html).toContain('name="next" value="/dashboard/tasks?status=failed"')
    expect(html).not.toContain('<script')
  })

  it('refuses a wrong token with 401 and sets no cookie', async () => {
    const res = await appWith(TOKEN).request(
      '/dashboard/sign-in',
      form({ token: 'wrong-token-wrong-token', next: '/dashboard' }),
    )
    expect(res.status).toBe(401)
    expect(res.headers.get('set-cookie')).toBeNull()
    expect(await res.text()).toContain('That token is not the API token')
  })

  it('keeps the right token in an HttpOnly, SameSite=Strict cookie the API accepts, then shows the pages', async () => {
    const app = appWith(TOKEN)
    const res = await app.request(
      '/dashboard/sign-in',
      form({ token: TOKEN, next: '/dashboard/tasks?status=failed' }),
    )
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe('/dashboard/tasks?status=failed')
    const cookie = res.headers.get('set-cookie') ?? ''
    expect(cookie).toContain(`tasklane_token=${TOKEN}`)
    expect(cookie).toMatch(/HttpOnly/i)
    expect(cookie).toMatch(/SameSite=Strict/i)
    expect(cookie).toMatch(/Path=\//)
    const page = await app.request('/dashboard/tasks', { headers: { cookie: `tasklane_token=${TOKEN}` } })
    const html = await page.text()
    expect(html).toContain('src="/dashboard/assets/tasks.js"')
    expect(html).toContain('Sign out')
  })

  it.each([
    ['another origin', '//evil.example/dashboard'],
    ['an absolute URL', 'https://evil.example/'],
    ['a path outside the dashboard', '/tasks'],
  ])('after sign-in, never sends the browser to %s', async (_what, next) => {
    const res = await appWith(TOKEN).request('/dashboard/sign-in', form({ token: TOKEN, next }))
    expect(res.headers.get('location')).toBe('/dashboard')
  })

  it('signs out by expiring the cookie', async () => {
    const res = await appWith(TOKEN).request('/dashboard/sign-out', form({}, `tasklane_token=${TOKEN}`))
    expect(res.status).toBe(303)
    expect(res.headers.get('set-cookie')).toMatch(/tasklane_token=;.*Max-Age=0/i)
  })
})
