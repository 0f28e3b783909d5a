import { EventEmitter, once } from 'node:events'
import { Hono } from 'hono'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dashboardRoutes } from '../../src/dashboard/dashboard-routes.ts'
import { NonRetryableError } from '../../src/errors.ts'
import { createApp } from '../../src/http/app.ts'
import type { Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'
import { chromiumPath, launchChromium, type Served, serveApp } from './support/browser.ts'

// The dashboard in a real browser, against a real server: `createApp` (the API) with the dashboard
// mounted at /dashboard, a token configured, workers running the two tasks below.

const TOKEN = 'dashboard-browser-test-token'
const executablePath = chromiumPath()
if (!executablePath) {
  console.log(
    'test/dashboard: skipping the browser tests: Chromium is not installed (apt-get install -y chromium, or set CHROMIUM_PATH)',
  )
}

/** The `stepped` task waits here before each step, until the test lets it through: no sleeps. */
const gates = new EventEmitter()
const waiting = new Map<string, () => void>()

function gate(taskId: string, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    waiting.set(taskId, resolve)
    gates.emit('waiting', taskId)
    signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true })
  })
}

async function advance(taskId: string): Promise<void> {
  while (!waiting.has(taskId)) await once(gates, 'waiting')
  const release = waiting.get(taskId)!
  waiting.delete(taskId)
  release()
}

const stepped = defineTask({
  name: 'stepped',
  retry: { limit: 0 },
  async run(_args: Record<string, never>, ctx) {
    for (let step = 1; step <= 4; step++) {
      await gate(ctx.taskId, ctx.signal)
      await ctx.progress(step * 25, `Step ${step} of 4`)
    }
    return { steps: 4 }
  },
})

/** Fails its first attempt, succeeds on every later one (so a retry visibly works). */
const failedOnce = new Set<string>()
const flaky = defineTask({
  name: 'flaky',
  retry: { limit: 0 },
  async run(_args: { n: number }, ctx) {
    if (!failedOnce.has(ctx.taskId)) {
      failedOnce.add(ctx.taskId)
      throw new NonRetryableError('flaky: the first attempt always fails')
    }
    return { ok: true }
  },
})

/** The parts of the API's answers these tests read. */
interface ApiJson {
  taskId?: string
  status?: string
  items?: Array<{ taskId: string }>
  error?: { message: string }
}

describe.skipIf(!executablePath)('dashboard in a browser', () => {
  let db: TestDatabase
  let tasks: Tasklane
  let served: Served
  let browser: Browser
  let page: Page
  const consoleErrors: string[] = []
  const apiRequests: string[] = []

  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(served.url + path, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    })
    return { status: res.status, json: (await res.json()) as ApiJson }
  }
  const enqueue = async (name: string, args: unknown) =>
    (await api('POST', `/tasks/${name}`, { args })).json.taskId!
  const failedFlaky = async (n: number) => {
    const id = await enqueue('flaky', { n })
    expect((await tasks.waitFor(id)).status).toBe('failed')
    return id
  }
  const confirm = async () => {
    await page.locator('dialog#confirm[open]').waitFor()
    await page.locator('#confirm-ok').click()
  }
  const notice = () => page.locator('#notice .message').textContent()

  beforeAll(async () => {
    db = await createTestDatabase()
    tasks = await startTasklane(db.url, [stepped, flaky], { workers: 4, env: { TASKLANE_API_TOKEN: TOKEN } })
    const app = new Hono()
    app.route('/dashboard', dashboardRoutes({ tasks }))
    app.route('/', createApp({ tasks }))
    served = await serveApp(app)
    browser = await launchChromium(executablePath!)
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(`${m.text()} (${m.location().url})`)
    })
    page.on('pageerror', (err) => consoleErrors.push(`uncaught: ${err.message}`))
    page.on('request', (r) => {
      const url = new URL(r.url())
      if (!url.pathname.startsWith('/dashboard'))
        apiRequests.push(`${r.method()} ${url.pathname}${url.search}`)
    })
  })

  afterAll(async () => {
    await browser?.close()
    await served?.close()
    await tasks?.stop({ timeout: '1s' })
    await db?.drop()
  })

  it('asks for the token once, then shows the overview from the API and its live events', async () => {
    await page.goto(`${served.url}/dashboard`)
    await page.getByLabel('API token').fill(TOKEN)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('heading', { name: 'Overview' }).waitFor()
    const [cookie] = await page.context().cookies()
    expect(cookie).toMatchObject({ name: 'tasklane_token', httpOnly: true, sameSite: 'Strict' })

    await expect.poll(() => page.locator('#w-total').textContent()).toBe('4')
    await page.locator('#chart-throughput svg').waitFor()
    await page.locator('#chart-runtime svg').waitFor()
    // Live: a task enqueued now shows up in the feed without a reload.
    const id = await enqueue('flaky', { n: 0 })
    await page.locator(`#feed li[data-task-id="${id}"]`).first().waitFor()
    expect(await page.locator('#live').getAttribute('data-state')).toBe('live')
  })

  it('shows a running task with a live progress bar and step, and cancels it from the keyboard', async () => {
    const id = await enqueue('stepped', {})
    await advance(id)
    await page.goto(`${served.url}/dashboard/tasks?status=running`)
    const row = page.locator(`tr[data-id="${id}"]`)
    const percent = () => row.locator('progress').evaluate((el) => (el as unknown as { value: number }).value)
    await expect.poll(percent).toBe(25)
    await advance(id)
    await expect.poll(percent).toBe(50)
    expect(await row.locator('.step').textContent()).toBe('Step 2 of 4')

    await page.goto(`${served.url}/dashboard/tasks/${id}`)
    const bar = () => page.locator('#t-progress').evaluate((el) => (el as unknown as { value: number }).value)
    await expect.poll(bar).toBe(50)
    await advance(id)
    await expect.poll(bar).toBe(75)
    expect(await page.locator('#t-step').textContent()).toBe('Step 3 of 4')

    // Keyboard only: Tab to the Cancel button, Enter, and Enter again on the dialog's confirm button.
    for (let i = 0; i < 30; i++) {
      await page.keyboard.press('Tab')
      if ((await page.evaluate('document.activeElement?.dataset.action')) === 'cancel') break
    }
    await page.keyboard.press('Enter')
    await page.locator('dialog#confirm[open]').waitFor()
    await page.keyboard.press('Enter')
    await expect.poll(notice).toMatch(/^Cancelled stepped .*: it is now cancelled\.$/)
    await expect.poll(() => page.locator('#t-status').textContent()).toBe('cancelled')
    expect((await api('GET', `/tasks/${id}`)).json.status).toBe('cancelled')
  })

  it('retries a failed task, and shows the error, its stack and its attempts first', async () => {
    const id = await failedFlaky(1)
    await page.goto(`${served.url}/dashboard/tasks/${id}`)
    await expect
      .poll(() => page.locator('#t-error-message').textContent())
      .toBe('flaky: the first attempt always fails')
    await page.getByText('Stack trace').click()
    expect(await page.locator('#t-stack').textContent()).toContain('NonRetryableError')
    expect(await page.locator('#t-attempt-table tbody tr').count()).toBe(1)

    await page.getByRole('button', { name: `Retry flaky ${id.slice(0, 8)}` }).click()
    await confirm()
    await expect.poll(notice).toMatch(/^Retried flaky /)
    expect((await tasks.waitFor(id)).status).toBe('completed')
    await expect.poll(() => page.locator('#t-status').textContent()).toBe('completed')
    await expect.poll(() => page.locator('#t-result').textContent()).toContain('"ok": true')
  })

  it("reports the API's refusal when the task's state no longer allows the action", async () => {
    const id = await failedFlaky(2)
    await page.goto(`${served.url}/dashboard/tasks/${id}`)
    const retry = page.getByRole('button', { name: `Retry flaky ${id.slice(0, 8)}` })
    await retry.waitFor()
    // Someone else retries it meanwhile; it completes. This page still offers Retry.
    expect((await api('POST', `/tasks/${id}/retry`)).status).toBe(200)
    expect((await tasks.waitFor(id)).status).toBe('completed')
    const refusal = await api('POST', `/tasks/${id}/retry`)
    expect(refusal.status).toBe(409)

    await retry.click()
    await confirm()
    await expect.poll(notice).toBe(`Retry refused: ${refusal.json.error!.message}`)
    expect(await page.locator('#notice').getAttribute('data-kind')).toBe('error')
  })

  it('retries every failed task of one name', async () => {
    const ids = [await failedFlaky(3), await failedFlaky(4)]
    const failed = (await api('GET', '/tasks?status=failed&task=flaky')).json.items!.map((t) => t.taskId)
    expect(failed).toEqual(expect.arrayContaining(ids))
    await page.goto(`${served.url}/dashboard/tasks?status=failed&task=flaky`)
    for (const id of ids) await page.locator(`tr[data-id="${id}"]`).waitFor()
    await page.getByRole('button', { name: 'Retry all failed…' }).click()
    await confirm()
    await expect.poll(notice).toBe(`Retried ${failed.length} failed flaky tasks.`)
    for (const id of failed) expect((await tasks.waitFor(id)).status).toBe('completed')
    expect((await api('GET', '/tasks?status=failed&task=flaky')).json.items).toEqual([])
  })

  it('fits a 375 px screen, calls only bounded API routes, and logs no errors', async () => {
    const id = await enqueue('stepped', {})
    await advance(id)
    await page.setViewportSize({ width: 375, height: 800 })
    for (const path of ['/dashboard', '/dashboard/tasks', `/dashboard/tasks/${id}`]) {
      await page.goto(served.url + path)
      await page.locator('#live[data-state="live"]').waitFor()
      expect(await page.evaluate('document.scrollingElement.scrollWidth'), path).toBeLessThanOrEqual(375)
    }
    await api('POST', `/tasks/${id}/cancel`)

    // Every call the pages made is bounded, whatever the size of history: pages of <= 100, one hour.
    const bounded = [
      // /workers lists live processes: bounded by the deployment, not by history.
      /^GET \/(stats|metrics|openapi\.json|workers)$/,
      /^GET \/analytics\?window=1h&bucket=1m(&task=[\w.-]+)?$/,
      /^GET \/tasks\?(.+&)?limit=(\d|[1-9]\d|100)(&.*)?$/,
      /^GET \/tasks\/[0-9a-f-]{36}(\/events)?$/,
      /^GET \/events(\?.*)?$/,
      /^POST \/tasks\/[0-9a-f-]{36}\/(cancel|retry)$/,
      /^POST \/tasks\/[\w.-]+\/retry-failed$/,
    ]
    expect(apiRequests.filter((r) => !bounded.some((re) => re.test(r)))).toEqual([])
    // The one expected error: the browser logs the 409 of the refused retry above.
    expect(consoleErrors.filter((e) => !/status of 409 .*\/retry\)$/.test(e))).toEqual([])
    expect(consoleErrors.length).toBeLessThanOrEqual(1)
  })
})
