/**
 * `sslmode` in a connection URL, as psql users mean it.
 *
 * node-postgres (pg-connection-string 2.x) reads `sslmode=prefer`, `require` and `verify-ca` as
 * `verify-full`: `require` against a server whose certificate is self-signed or signed by a private CA
 * (most managed plans) fails with "self-signed certificate in certificate chain", where psql connects.
 * Its `uselibpqcompat=true` switch gives libpq's meanings, which is what tasklane asks for on every
 * URL it is given (a URL that already says `uselibpqcompat` is left as it is):
 *
 * | sslmode | libpq / psql, and tasklane | node-postgres alone |
 * |---|---|---|
 * | disable | no TLS | no TLS |
 * | prefer | TLS, certificate not checked (libpq falls back to plain; node-postgres cannot, it fails) | verify-full |
 * | require | TLS, certificate not checked; with sslrootcert, checked like verify-ca | verify-full |
 * | verify-ca | TLS, chain checked against sslrootcert (required), host name not | verify-full |
 * | verify-full | TLS, chain and host name checked (against sslrootcert, else Node's CA store) | verify-full |
 */
export function withLibpqSslModes(url: string): string {
  const u = parseUrl(url)
  if (!u) return url
  const mode = u.searchParams.get('sslmode')
  if (mode === null || u.searchParams.has('uselibpqcompat')) return url
  if (mode !== 'prefer' && mode !== 'require' && mode !== 'verify-ca') return url
  return `${url}${url.includes('?') ? '&' : '?'}uselibpqcompat=true`
}

/** The sslmode values node-postgres can honour (libpq's `allow` tries plain text first: it cannot). */
export const SSL_MODES = ['disable', 'prefer', 'require', 'verify-ca', 'verify-full', 'no-verify'] as const

/**
 * What is wrong with a URL's TLS parameters, or null: an sslmode node-postgres cannot honour, or
 * verify-ca without the CA it verifies against.
 * @example sslProblem('postgres://h/db?sslmode=verify-ca') // 'sslmode=verify-ca needs sslrootcert=…'
 */
export function sslProblem(url: string): string | null {
  const u = parseUrl(url)
  const mode = u?.searchParams.get('sslmode')
  if (!u || mode === null || mode === undefined) return null
  if (!(SSL_MODES as readonly string[]).includes(mode)) {
    return `sslmode=${mode} is not supported: use one of ${SSL_MODES.join(', ')} (node-postgres cannot fall back from TLS to plain text as libpq's 'allow' does)`
  }
  if (mode === 'verify-ca' && !u.searchParams.get('sslrootcert')) {
    return 'sslmode=verify-ca needs sslrootcert=/path/to/ca.pem (the CA to verify the server against); or use sslmode=verify-full to verify against the system CA store'
  }
  return null
}

function parseUrl(url: string): URL | null {
  try {
    return new URL(url)
  } catch {
    return null
  }
}
