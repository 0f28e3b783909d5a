import { execFile } from 'node:child_process'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import { PrismaPg } from '@prisma/adapter-pg'
import { afterAll, describe, expect, it } from 'vitest'
import { callerKysely } from '../../src/enqueue/caller-db.ts'
import { describeClientContract } from './support/client-contract.ts'

// Prisma 7 (query compiler, no Rust query engine) over @prisma/adapter-pg. `prisma generate` needs no
// engine to run, but looks for the schema engine binary and downloads it when absent; this machine
// (and CI) reach only the npm registry, so the variable Prisma reads for a custom binary points at an
// existing file: generate never runs it. Nothing is downloaded.
const run = promisify(execFile)
const dir = path.resolve(`node_modules/.cache/tasklane-prisma-${process.pid}`)
afterAll(() => rm(dir, { recursive: true, force: true }))

let generated: Promise<string> | undefined
const generateClient = () => (generated ??= generate())

async function generate(): Promise<string> {
  await mkdir(dir, { recursive: true })
  const schema = path.join(dir, 'schema.prisma')
  await writeFile(
    schema,
    `generator client {
  provider = "prisma-client"
  output   = "./generated"
}
datasource db {
  provider = "postgresql"
}
model Order {
  id   Int    @id @default(autoincrement())
  item String
  @@map("orders")
}
`,
  )
  await run(path.resolve('node_modules/.bin/prisma'), ['generate', `--schema=${schema}`], {
    cwd: dir,
    env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: '/bin/false', PRISMA_HIDE_UPDATE_MESSAGE: '1' },
  })
  return path.join(dir, 'generated', 'client.ts')
}

describeClientContract('Prisma', async (url) => {
  const { PrismaClient } = await import(await generateClient())
  const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: url }) })
  return {
    transaction: (work) =>
      prisma.$transaction(
        // biome-ignore lint/suspicious/noExplicitAny: the client is generated and imported at run time, so untyped here
        (tx: any) =>
          work({
            db: tx,
            insertOrder: async (item) => {
              await tx.order.create({ data: { item } })
            },
          }),
        // The wake-up test holds the transaction open while it watches notifications.
        { timeout: 60_000, maxWait: 10_000 },
      ),
    close: () => prisma.$disconnect(),
  }
})

describe('a PrismaClient that is not a transaction', () => {
  it('is refused, naming $transaction', async () => {
    const { PrismaClient } = await import(await generateClient())
    const prisma = new PrismaClient({
      adapter: new PrismaPg({ connectionString: 'postgres://127.0.0.1:1/none' }),
    })
    expect(() => callerKysely(prisma)).toThrow(/prisma\.\$transaction\(async \(tx\)/)
  })
})
