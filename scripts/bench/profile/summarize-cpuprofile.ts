// Summarises a .cpuprofile (from --cpu-prof or BENCH_CHILD_CPU_PROF) by package and by function.
//   npx tsx scripts/bench/profile/summarize-cpuprofile.ts FILE.cpuprofile [top] [--callers=writev]
import { readFile } from 'node:fs/promises'
import { callersOf, summarize } from './inspector-profile.ts'

const file = process.argv[2]
if (!file) throw new Error('usage: summarize-cpuprofile.ts FILE.cpuprofile [top] [--callers=fn]')
const profile = JSON.parse(await readFile(file, 'utf8'))
const callers = process.argv
  .find((a) => a.startsWith('--callers='))
  ?.split('=')
  .slice(1)
  .join('=')
if (callers)
  console.log(
    callersOf(
      profile,
      callers,
      Number(process.argv.find((a) => a.startsWith('--depth='))?.split('=')[1] ?? 6),
    ),
  )
else console.log(summarize(profile, Number(process.argv[3] ?? 30)))
