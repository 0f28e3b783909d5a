// CPU profile of a chosen interval only (not start-up or preloading), through node:inspector, and
// a summary of self time by function and by package. The .cpuprofile opens in Chrome DevTools.
import { writeFile } from 'node:fs/promises'
import { Session } from 'node:inspector/promises'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  hitCount?: number
  children?: number[]
}

interface Profile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples?: number[]
  timeDeltas?: number[]
}

export async function startProfile(): Promise<(file: string) => Promise<string>> {
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.setSamplingInterval', { interval: 200 })
  await session.post('Profiler.start')
  return async (file: string) => {
    const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: Profile }
    session.disconnect()
    await writeFile(file, JSON.stringify(profile))
    return summarize(profile)
  }
}

function where(url: string): string {
  const nm = url.lastIndexOf('node_modules/')
  if (nm >= 0)
    return url
      .slice(nm + 13)
      .split('/')
      .slice(0, url.slice(nm + 13).startsWith('@') ? 2 : 1)
      .join('/')
  const src = url.indexOf('/src/')
  if (src >= 0) return url.slice(src + 1)
  if (url.startsWith('node:')) return url
  return url ? url.split('/').slice(-2).join('/') : '(native/gc)'
}

export function summarize(profile: Profile, top = 30): string {
  const total = profile.endTime - profile.startTime
  const samples = profile.samples ?? []
  const deltas = profile.timeDeltas ?? []
  const selfUs = new Map<number, number>()
  for (const [i, id] of samples.entries()) selfUs.set(id, (selfUs.get(id) ?? 0) + (deltas[i] ?? 0))
  const byFn = new Map<string, number>()
  const byPkg = new Map<string, number>()
  for (const node of profile.nodes) {
    const us = selfUs.get(node.id) ?? 0
    if (!us) continue
    const { functionName, url, lineNumber } = node.callFrame
    const fn = `${functionName || '(anonymous)'} ${where(url)}:${lineNumber + 1}`
    byFn.set(fn, (byFn.get(fn) ?? 0) + us)
    const pkg =
      functionName === '(idle)' ? '(idle)' : functionName === '(garbage collector)' ? '(gc)' : where(url)
    byPkg.set(pkg, (byPkg.get(pkg) ?? 0) + us)
  }
  const fmt = (m: Map<string, number>, n: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(
        ([k, us]) =>
          `${(us / 1000).toFixed(0).padStart(7)} ms ${((us / total) * 100).toFixed(1).padStart(5)}%  ${k}`,
      )
      .join('\n')
  return `profile ${(total / 1000).toFixed(0)} ms\n-- by package/file --\n${fmt(byPkg, 20)}\n-- by function --\n${fmt(byFn, top)}\n-- by function, inclusive (self + callees) --\n${fmt(inclusive(profile), top)}`
}

/** Time under each function (it or its callees on the stack), each function counted once per sample. */
function inclusive(profile: Profile): Map<string, number> {
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const selfUs = new Map<number, number>()
  for (const [i, id] of (profile.samples ?? []).entries())
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas?.[i] ?? 0))
  const out = new Map<string, number>()
  for (const [id, us] of selfUs) {
    const seen = new Set<string>()
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
      const { functionName, url, lineNumber } = byId.get(n)!.callFrame
      if (functionName === '(root)' || functionName === '(idle)') continue
      const fn = `${functionName || '(anonymous)'} ${where(url)}:${lineNumber + 1}`
      if (seen.has(fn)) continue
      seen.add(fn)
      out.set(fn, (out.get(fn) ?? 0) + us)
    }
  }
  return out
}

/** Who calls `fn` (by self time of `fn` under each distinct caller chain, `depth` frames up). */
export function callersOf(profile: Profile, fn: string, depth = 4, top = 10): string {
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const selfUs = new Map<number, number>()
  for (const [i, id] of (profile.samples ?? []).entries())
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas?.[i] ?? 0))
  const chains = new Map<string, number>()
  for (const n of profile.nodes) {
    if (n.callFrame.functionName !== fn) continue
    const frames: string[] = []
    let p = parent.get(n.id)
    while (p !== undefined && frames.length < depth) {
      const f = byId.get(p)!.callFrame
      frames.push(`${f.functionName || '(anon)'}@${where(f.url)}`)
      p = parent.get(p)
    }
    const key = frames.join(' < ')
    chains.set(key, (chains.get(key) ?? 0) + (selfUs.get(n.id) ?? 0))
  }
  return [...chains.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, us]) => `${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`)
    .join('\n')
}
