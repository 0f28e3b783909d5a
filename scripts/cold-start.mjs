// Cold start of a tasklane server: milliseconds from spawning a command to the first 200 from /health.
//   node scripts/cold-start.mjs <app dir> <runs> -- npx tasklane serve --tasks ./tasks.js
// DATABASE_URL comes from the environment; each run gets a free port and is stopped (SIGTERM to its
// process group) once healthy. Prints one line per run and the median.
import { spawn } from 'node:child_process'
import { createServer } from 'node:net'

const [cwd, runsArg, dashes, command, ...args] = process.argv.slice(2)
if (!cwd || dashes !== '--' || !command) {
  console.error('usage: node scripts/cold-start.mjs <app dir> <runs> -- <command> [args…]')
  process.exit(2)
}

const freePort = () =>
  new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })

async function once() {
  const port = await freePort()
  const started = performance.now()
  const child = spawn(command, args, {
    cwd,
    env: { ...process.env, PORT: String(port), LOG_LEVEL: 'warn' },
    stdio: 'ignore',
    detached: true,
  })
  const exited = new Promise((resolve) => child.on('exit', resolve))
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${command} exited with ${child.exitCode}`)
      const healthy = await fetch(`http://127.0.0.1:${port}/health`).then(
        (r) => r.status === 200,
        () => false,
      )
      if (healthy) return performance.now() - started
      // A measurement, not a test: polling every 10 ms bounds the error of the reading.
      await new Promise((r) => setTimeout(r, 10))
    }
  } finally {
    process.kill(-child.pid, 'SIGTERM')
    await exited
  }
}

const times = []
for (let i = 0; i < Number(runsArg ?? 5); i++) {
  const ms = await once()
  times.push(ms)
  console.log(`run ${i + 1}: ${ms.toFixed(0)} ms`)
}
times.sort((a, b) => a - b)
console.log(`median: ${times[Math.floor(times.length / 2)].toFixed(0)} ms over ${times.length} runs`)
