import type { Hono } from 'hono'

export interface CallOptions {
  /** Sent as JSON with Content-Type: application/json. */
  json?: unknown
  /** Sent as is (for malformed bodies and other content types). */
  body?: string
  headers?: Record<string, string>
}

/** One in-process request through app.request(); the body is parsed when it is JSON. */
export async function call(app: Hono<any>, method: string, path: string, o: CallOptions = {}) {
  const headers: Record<string, string> = { ...o.headers }
  let body: string | undefined = o.body
  if (o.json !== undefined) {
    body = JSON.stringify(o.json)
    headers['content-type'] ??= 'application/json'
  }
  const res = await app.request(path, { method, headers, ...(body !== undefined ? { body } : {}) })
  const text = await res.text()
  let json: any = null
  if ((res.headers.get('content-type') ?? '').includes('json')) json = JSON.parse(text)
  return { status: res.status, headers: res.headers, json, text }
}
