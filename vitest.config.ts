import { defineConfig } from 'vitest/config'

// `import … from 'tasklane'` (examples/) resolves to the sources, never to a build in dist/: for Vite's
// resolver, for Node's in the test processes, and so for the worker threads they start.
const SOURCE_CONDITION = 'tasklane-source'

export default defineConfig({
  resolve: { conditions: [SOURCE_CONDITION] },
  ssr: { resolve: { conditions: [SOURCE_CONDITION], externalConditions: [SOURCE_CONDITION] } },
  test: {
    execArgv: [`--conditions=${SOURCE_CONDITION}`],
    include: ['test/**/*.test.ts', 'examples/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    // Each file gets its own database cloned from a migrated template, so files run in parallel.
    pool: 'forks',
    maxWorkers: 3,
    // Hang detectors, not speed claims: tests wait on events with their own deadlines and clearer
    // messages. On a loaded 2-core machine starting a tasklane process alone took over 60 s.
    testTimeout: 300_000,
    hookTimeout: 300_000,
    // expect.poll() gives up after 1 s by default: a page update on a loaded 2-core machine (other
    // test files, other runs) can take longer. A wait is a failure detector, not a speed claim.
    expect: { poll: { timeout: 30_000 } },
    reporters: ['default'],
  },
})
