import path from 'node:path'

/**
 * The URL of a module next to `base` (the caller's `import.meta.url`), given by its source name
 * (`./thread-entry.ts`). The compiler rewrites the extensions of imports but not of strings, so a
 * module found by URL takes the extension of the module asking for it: `.ts` in the checkout (tsx,
 * Node's type stripping) and `.js` in the built package (dist/).
 * @example siblingModuleUrl('./thread-entry.ts', import.meta.url) // file:///…/dist/src/worker/thread-entry.js
 */
export function siblingModuleUrl(sourceName: string, base: string): URL {
  const extension = path.extname(new URL(base).pathname)
  return new URL(sourceName.replace(/\.ts$/, extension), base)
}
