// Allocation sampling of a chosen interval, through node:inspector: every sampled allocation counts,
// the collected ones included (V8's sampling heap profiler with includeObjectsCollectedBy*GC), so the
// summary shows what the interval allocates, not what it retains. Self bytes by function and by file.
import { writeFile } from 'node:fs/promises'
import { Session } from 'node:inspector/promises'

interface SamplingNode {
  callFrame: { functionName: string; url: string; lineNumber: number }
  selfSize: number
  children: SamplingNode[]
}

export async function startAllocationProfile(): Promise<(file: string) => Promise<string>> {
  const session = new Session()
  session.connect()
  await session.post('HeapProfiler.enable')
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 16_384,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  } as never)
  return async (file: string) => {
    const { profile } = (await session.post('HeapProfiler.stopSampling')) as unknown as {
      profile: { head: SamplingNode }
    }
    session.disconnect()
    await writeFile(file, JSON.stringify(profile))
    const byFunction = new Map<string, number>()
    const byFile = new Map<string, number>()
    let total = 0
    const walk = (n: SamplingNode) => {
      const url = n.callFrame.url
        .replace(/^.*node_modules\//, '')
        .replace(/^file:\/\/.*\/(src|scripts)\//, '$1/')
      const key = `${n.callFrame.functionName || '(anonymous)'} ${url}:${n.callFrame.lineNumber + 1}`
      byFunction.set(key, (byFunction.get(key) ?? 0) + n.selfSize)
      const where = url.startsWith('src/') ? url : (url.split('/')[0] ?? url) || '(native)'
      byFile.set(where, (byFile.get(where) ?? 0) + n.selfSize)
      total += n.selfSize
      for (const c of n.children) walk(c)
    }
    walk(profile.head)
    const top = (m: Map<string, number>, k: number) =>
      [...m]
        .sort((a, b) => b[1] - a[1])
        .slice(0, k)
        .map(([name, bytes]) => `  ${(bytes / 1048576).toFixed(1).padStart(7)} MB  ${name}`)
        .join('\n')
    return `allocated (sampled) ${(total / 1048576).toFixed(1)} MB\nby function:\n${top(byFunction, 30)}\nby file or package:\n${top(byFile, 25)}`
  }
}
