import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../../src/http/app.ts'
import type { Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'

// Issue 14, item 7: which limits Node's HTTP server enforces before tasklane sees a request (answered
// in Node's way, not in tasklane's error format), and which tasklane enforces (its JSON errors). Over a
// real socket, since `app.request()` skips Node's parser. Documented in docs/http.md, "Limits".
const note = defineTask({ name: 'note', async run() {} })

describe('HTTP limits: Node first, then tasklane', () => {
  let db: TestDatabase
  let tasks: Tasklane
  let server: ReturnType<typeof serve>
  let base = ''

  beforeAll(async () => {
    db = await createTestDatabase()
    tasks = await startTasklane(db.url, [note], { workers: 0 })
    await new Promise<void>((resolve) => {
      server = serve(
        { fetch: createApp({ tasks }).fetch, hostname: '127.0.0.1', port: 0 },
        (info: AddressInfo) => {
          base = `http://127.0.0.1:${info.port}`
          resolve()
        },
      )
    })
  })
  afterAll(async () => {
    ;(server as unknown as { closeAllConnections?: () => void })?.closeAllConnections?.()
    await new Promise((r) => server?.close(r))
    await tasks?.stop()
    await db?.drop()
  })

  it('Node answers 431, with no body, when the request line and headers pass 16 KiB', async () => {
    // 10,000 query parameters: the URL alone is ~90 KB.
    const query = Array.from({ length: 10_000 }, (_, i) => `p${i}=x`).join('&')
    const long = await fetch(`${base}/tasks?${query}`)
    expect(long.status).toBe(431)
    expect(await long.text()).toBe('')
    const header = await fetch(`${base}/health`, { headers: { 'x-big': 'x'.repeat(17 * 1024) } })
    expect(header.status).toBe(431)
    await header.text()
    // Just under the limit, the request reaches tasklane, which judges it in its own format.
    const under = await fetch(`${base}/tasks?limit=${'9'.repeat(15 * 1024)}`)
    expect(under.status).toBe(400)
    expect(((await under.json()) as { error: { code: string } }).error.code).toBe('validation_failed')
  })

  it('tasklane answers 413 in its error format for a body over TASKLANE_MAX_BODY (1 MiB)', async () => {
    const res = await fetch(`${base}/tasks/note`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ args: { blob: 'x'.repeat(1024 * 1024 + 1) } }),
    })
    expect(res.status).toBe(413)
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('payload_too_large')
    expect((await tasks.listTasks({})).items).toEqual([]) // nothing written
  })
})
