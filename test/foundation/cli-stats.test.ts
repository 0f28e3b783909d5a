import { spawn } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'

// `tasklane stats | jq …` must work: stdout carries the JSON document and nothing else, while the logs
// of starting and stopping (info level here, so there are some) go to stderr.
describe('tasklane stats', () => {
  let db: TestDatabase

  beforeAll(async () => {
    db = await createTestDatabase()
  })
  afterAll(async () => {
    await db?.drop()
  })

  it('writes only its JSON to stdout and its logs to stderr', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'stats'], {
      env: { ...process.env, DATABASE_URL: db.url, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => {
      stdout += d
    })
    child.stderr.on('data', (d) => {
      stderr += d
    })
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
    expect(code, stderr).toBe(0)
    const stats = JSON.parse(stdout)
    expect(stats).toMatchObject({ totalQueued: expect.any(Number), totalWorkers: expect.any(Number) })
    const logLines = stderr.split('\n').filter((line) => line.startsWith('{'))
    expect(logLines.length).toBeGreaterThan(0)
    expect(JSON.parse(logLines[0]!)).toMatchObject({ service: 'tasklane' })
  })
})
