import { expect, it } from 'vitest'

it('runs on Node 22.12 or newer (the node devDependency puts it first on PATH)', () => {
  const [major, minor] = process.versions.node.split('.').map(Number) as [number, number]
  expect(major > 22 || (major === 22 && minor >= 12)).toBe(true)
})
