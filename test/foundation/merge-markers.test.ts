import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

// A merge conflict resolved by committing both sides with their markers once shipped in the README.
// Every text file of the project is read for a line that starts a conflict marker.

const root = path.resolve(fileURLToPath(import.meta.url), '../../..')
const TEXT = /\.(md|ts|tsx|mjs|js|json|sql|yml|yaml|css|html|sh)$/
const MARKER = /^(<{7} |={7}$|>{7} )/m

function filesUnder(dir: string): string[] {
  return readdirSync(path.join(root, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && TEXT.test(e.name) && !e.parentPath.includes('node_modules'))
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)))
}

describe('merge conflict markers', () => {
  it('are in no file of the project', () => {
    const files = [
      'README.md',
      ...['docs', 'src', 'test', 'scripts', 'examples', 'migrations', 'bin', '.ci'].flatMap(filesUnder),
    ]
    expect(files.length).toBeGreaterThan(100)
    expect(files.filter((f) => MARKER.test(readFileSync(path.join(root, f), 'utf8')))).toEqual([])
  })
})
