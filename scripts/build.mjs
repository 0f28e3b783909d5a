// `npm run build` (also run by `prepare` and `prepack`): compiles src/ and migrations/ to dist/ with tsc
// (JavaScript, .d.ts, the dashboard's JSX) and copies the files the compiled code reads at run time
// (the dashboard's assets) next to it. Plain JavaScript, so it needs no TypeScript loader to run.
import { spawnSync } from 'node:child_process'
import { cpSync, readdirSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(fileURLToPath(import.meta.url), '../..')
// `--out-dir=DIR` (inside the checkout, so that the compiled code finds node_modules): a private
// build, for a benchmark that must not race a concurrent `npm pack` rewriting dist/.
// It is emptied first, so only a folder under bench-results/ is taken.
const outArg = process.argv.find((a) => a.startsWith('--out-dir='))
const dist = outArg ? path.resolve(root, outArg.slice('--out-dir='.length)) : path.join(root, 'dist')
if (outArg && !dist.startsWith(path.join(root, 'bench-results') + path.sep)) {
  console.error(`tasklane build: --out-dir must name a folder under bench-results/, not ${outArg.slice(10)}`)
  process.exit(2)
}
const COMPILED = /\.(ts|tsx|mts|cts)$/

// A stale file of a renamed source would otherwise ship.
rmSync(dist, { recursive: true, force: true })

// The compiler of the typescript devDependency, by its package.json's `bin` (its exports hide bin/).
const typescriptManifest = createRequire(import.meta.url).resolve('typescript/package.json')
const tsc = path.resolve(typescriptManifest, '..', createRequire(import.meta.url)(typescriptManifest).bin.tsc)
const built = spawnSync(
  process.execPath,
  [tsc, '-p', path.join(root, 'tsconfig.build.json'), '--outDir', dist],
  {
    stdio: 'inherit',
  },
)
if (built.status !== 0) process.exit(built.status ?? 1)

// Every non-TypeScript file under src/ and migrations/ is read at run time (import.meta.url-relative).
let copied = 0
for (const dir of ['src', 'migrations']) {
  for (const entry of readdirSync(path.join(root, dir), { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || COMPILED.test(entry.name)) continue
    const from = path.join(entry.parentPath, entry.name)
    cpSync(from, path.join(dist, path.relative(root, from)))
    copied++
  }
}
console.error(`tasklane build: ${path.relative(root, dist)}/ written (${copied} asset files copied)`)
