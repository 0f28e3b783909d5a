import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { Context } from 'hono'

/**
 * The dashboard's static files, shipped in the package (src/dashboard/assets/) and served by the
 * process itself, so the dashboard works offline and behind a proxy that blocks CDNs. The set is
 * fixed: a request names a key of this table, never a path, so nothing else on disk is reachable.
 */
const FILES = {
  'dashboard.css': 'text/css; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
  'common.js': 'text/javascript; charset=utf-8',
  'charts.js': 'text/javascript; charset=utf-8',
  'overview.js': 'text/javascript; charset=utf-8',
  'tasks.js': 'text/javascript; charset=utf-8',
  'task.js': 'text/javascript; charset=utf-8',
} as const

export type AssetName = keyof typeof FILES

interface Asset {
  body: Uint8Array
  type: string
  etag: string
}

/** Reads every asset once; returns the handler of `GET /assets/:name`. */
export function assetHandler(): (c: Context) => Response {
  const assets = new Map<string, Asset>()
  for (const [name, type] of Object.entries(FILES)) {
    const body = readFileSync(new URL(`./assets/${name}`, import.meta.url))
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`
    assets.set(name, { body, type, etag })
  }
  return function serveAsset(c) {
    const asset = assets.get(c.req.param('name') ?? '')
    if (!asset) return c.text('no such dashboard asset', 404)
    // Revalidated on every load (cheap 304s), so a new version is picked up without a hashed file name:
    // the ES modules import each other by plain relative names.
    const headers = {
      ETag: asset.etag,
      'Cache-Control': 'no-cache',
      'X-Content-Type-Options': 'nosniff',
    }
    if (c.req.header('if-none-match') === asset.etag) return c.body(null, 304, headers)
    return c.body(asset.body as Uint8Array<ArrayBuffer>, 200, { ...headers, 'Content-Type': asset.type })
  }
}
