// The peers only (pg-boss, graphile-worker, the PostgreSQL ceiling), as before tasklane joined:
//   npx tsx scripts/bench/peers-main.ts [--quick] [--scenario=NAME]
// Same as scripts/bench.ts --system=pg-boss,graphile-worker,postgres.
if (!process.argv.some((a) => a.startsWith('--system=')))
  process.argv.push('--system=pg-boss,graphile-worker,postgres')
await import('../bench.ts')
