#!/usr/bin/env node
// The CLI of the installed package runs the JavaScript that `npm run build` compiled into dist/ (built
// by `prepare`, so every packed tarball and git install has it); no TypeScript loader at run time.
import { existsSync } from 'node:fs'

const main = new URL('../dist/src/cli/main.js', import.meta.url)
if (!existsSync(main)) {
  console.error(
    'tasklane: dist/ is missing (this is a checkout that was not built). Run `npm run build`, ' +
      'or `npm run tasklane -- <command>` to run the TypeScript sources with tsx.',
  )
  process.exit(1)
}
await import(main.href)
