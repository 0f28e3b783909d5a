import net from 'node:net'

/**
 * A TCP proxy to the test database that can be taken down and brought back on the same port: the
 * database "goes away" for one tasklane instance without touching the server other test files use.
 */
export class TcpProxy {
  readonly #target: { host: string; port: number }
  readonly #sockets = new Set<net.Socket>()
  #server: net.Server | null = null
  port = 0

  constructor(targetUrl: string) {
    const u = new URL(targetUrl)
    this.#target = { host: u.hostname, port: Number(u.port || 5432) }
  }

  /** The target URL with host and port replaced by the proxy's. */
  urlFor(targetUrl: string): string {
    const u = new URL(targetUrl)
    u.hostname = '127.0.0.1'
    u.port = String(this.port)
    return u.toString()
  }

  async start(): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.#target)
      for (const s of [client, upstream]) {
        this.#sockets.add(s)
        s.on('close', () => this.#sockets.delete(s))
        s.on('error', () => {
          client.destroy()
          upstream.destroy()
        })
      }
      client.pipe(upstream).pipe(client)
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.port, '127.0.0.1', () => resolve())
    })
    this.port = (server.address() as net.AddressInfo).port
    this.#server = server
  }

  /** Refuses new connections and cuts every open one, like a database that went down. */
  async stop(): Promise<void> {
    const server = this.#server
    this.#server = null
    for (const s of this.#sockets) s.destroy()
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()))
  }
}
