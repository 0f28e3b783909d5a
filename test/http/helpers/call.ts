export interface CallOptions {
  /** Sent as JSON with Content-Type: application/json. */
  json?: unknown
  /** Sent as is (for malformed bodies and other content types). */
  body?: string
  headers?: Record<string, string>
}

/** What call() needs of an app: Hono's app.request(), whatever the app's Env. */
export interface InProcessApp {
  request(path: string, init: RequestInit): Response | Promise<Response>
}

/** One in-process request through app.request(); the body is parsed when it is JSON. */
export async function call(app: InProcessApp, method: string, path: string, o: CallOptions = {}) {
  const headers: Record<string, string> = { ...o.headers }
  let body: string | undefined = o.body
  if (o.json !== undefined) {
    body = JSON.stringify(o.json)
    headers['content-type'] ??= 'application/json'
  }
  const res = await app.request(path, { method, headers, ...(body !== undefined ? { body } : {}) })
  const text = await res.text()
  // biome-ignore lint/suspicious/noExplicitAny: tests read bodies of every shape, each asserting the fields it needs
  let json: any = null
  if ((res.headers.get('content-type') ?? '').includes('json')) json = JSON.parse(text)
  return { status: res.status, headers: res.headers, json, text }
}
