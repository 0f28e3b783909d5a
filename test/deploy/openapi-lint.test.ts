import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../../src/http/app.ts'
import type { Tasklane } from '../../src/tasklane.ts'
import { defineTask } from '../../src/tasks/define-task.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { startTasklane } from '../support/tasklane.ts'

// Issue 14, item 6: Redocly's linter, with its recommended rules, finds neither errors nor warnings
// in GET /openapi.json (it used to find paths differing only by a parameter name, /health without
// security, and 18 operations without operationId).
const CLI = path.join(
  path.dirname(createRequire(import.meta.url).resolve('@redocly/cli/package.json')),
  'bin/cli.js',
)
const note = defineTask({ name: 'note', async run() {} })

interface Problem {
  ruleId: string
  severity: string
  message: string
  location: { pointer: string }[]
}

describe('redocly lint --extends=recommended on GET /openapi.json', () => {
  let db: TestDatabase
  let tasks: Tasklane
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tasklane-openapi-'))

  beforeAll(async () => {
    db = await createTestDatabase()
    tasks = await startTasklane(db.url, [note], { workers: 0 })
  })
  afterAll(async () => {
    await tasks?.stop()
    await db?.drop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('reports no problem at all', async () => {
    const res = await createApp({ tasks }).request('/openapi.json')
    expect(res.status).toBe(200)
    const file = path.join(dir, 'openapi.json')
    writeFileSync(file, await res.text())
    const lint = spawnSync(process.execPath, [CLI, 'lint', '--extends=recommended', '--format=json', file], {
      encoding: 'utf8',
      cwd: dir,
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
      timeout: 120_000,
    })
    const report = JSON.parse(lint.stdout) as { problems: Problem[] }
    const problems = report.problems.map(
      (p) => `${p.severity} ${p.ruleId} at ${p.location[0]?.pointer}: ${p.message}`,
    )
    expect(problems).toEqual([])
    expect(lint.status).toBe(0)
  })
})
