import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'examples/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    // Each file gets its own database cloned from a migrated template, so files run in parallel.
    pool: 'forks',
    maxWorkers: 3,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // expect.poll() gives up after 1 s by default: a page update on a loaded 2-core machine (other
    // test files, other runs) can take longer. A wait is a failure detector, not a speed claim.
    expect: { poll: { timeout: 30_000 } },
    reporters: ['default'],
  },
})
