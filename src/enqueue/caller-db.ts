import {
  type CompiledQuery,
  type DatabaseConnection,
  type Driver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryResult,
} from 'kysely'
import { fromKnex, fromPrisma } from '../queue/caller-adapters.ts'

/**
 * Any client with `query(text, values)` answering `{ rows }` (node-postgres' `Client`/`PoolClient`,
 * and most drivers) or the rows themselves. `values` are bound to `$1, $2, …`. A `pg.Pool` has this
 * shape but is refused (TypeError): it cannot hold a transaction.
 * @example
 * const client = await pool.connect()
 * await client.query('BEGIN')
 * await tasks.addTask(shipOrder, { orderId: 42 }, { db: client })
 * await client.query('COMMIT')
 */
export interface QueryClient {
  /** Runs `text` with `values` bound to `$1, $2, …` on the transaction's connection. */
  query(text: string, values?: any[]): PromiseLike<unknown>
}

/**
 * pg-boss's database adapter shape (`fromDrizzle`, `fromKnex`, `fromPrisma` … answer it).
 * @example await tasks.addTask(shipOrder, { orderId: 42 }, { db: fromDrizzle(tx, sql) })
 */
export interface SqlExecutor {
  /** Runs `text` with `values` bound to `$1, $2, …` and answers the rows. */
  executeSql(text: string, values?: unknown[]): PromiseLike<{ rows: unknown[] }>
}

/**
 * A postgres.js transaction (the `tx` of `sql.begin(async (tx) => …)`). The root `sql` is refused
 * (TypeError): it runs each statement on any free connection.
 * @example await sql.begin((tx) => tasks.addTask(shipOrder, { orderId: 42 }, { db: tx }))
 */
export interface PostgresJsTransaction {
  /** postgres.js's `tx.unsafe(text, values)`, which tasklane runs its statements with. */
  unsafe(text: string, values?: any[]): PromiseLike<unknown>
  /** `tx.savepoint`, which only a transaction has; tasklane does not call it. */
  savepoint: unknown
}

/**
 * A Knex transaction (`knex.transaction(async (trx) => …)`). A Knex instance is refused (TypeError):
 * it is not a transaction.
 * @example await knex.transaction((trx) => tasks.addTask(shipOrder, { orderId: 42 }, { db: trx }))
 */
export interface KnexTransaction {
  /** Knex's `trx.raw(sql, bindings)`, which tasklane runs its statements with. */
  raw(sql: string, bindings: readonly any[]): PromiseLike<unknown>
  /** `true` on a transaction; a Knex instance (without it) is refused. */
  isTransaction?: boolean
}

/**
 * A Prisma interactive transaction (`prisma.$transaction(async (tx) => …)`), Prisma 7 with
 * `@prisma/adapter-pg`. A PrismaClient is refused (TypeError): it is not a transaction.
 * @example await prisma.$transaction((tx) => tasks.addTask(shipOrder, { orderId: 42 }, { db: tx }))
 */
export interface PrismaTransaction {
  /** Prisma's `tx.$queryRawUnsafe(text, ...values)`, which tasklane runs its statements with. */
  $queryRawUnsafe(text: string, ...values: any[]): PromiseLike<unknown>
}

/**
 * The caller's transaction, in any of the clients tasklane enqueues through: a Kysely transaction,
 * a node-postgres client inside `BEGIN`, any `{ query(text, values) }`, a postgres.js, Knex or Prisma
 * transaction, or a pg-boss adapter (`{ executeSql }`, e.g. `fromDrizzle(tx, sql)`). Passed as `db`
 * to addTask/addTasks, the task exists iff that transaction commits (docs/enqueue.md). A handle that
 * is not one transaction (a pool, a client's root object) is refused with a TypeError saying what to
 * pass instead, before anything is written.
 * @example
 * await db.transaction().execute(async (trx) => {
 *   const order = await trx.insertInto('orders').values({ item: 'book' }).returning('id').executeTakeFirstOrThrow()
 *   await tasks.addTask(shipOrder, { orderId: order.id }, { db: trx })
 * })
 */
export type CallerDb =
  | Kysely<any>
  | QueryClient
  | SqlExecutor
  | PostgresJsTransaction
  | KnexTransaction
  | PrismaTransaction

type Run = (text: string, values: readonly unknown[]) => PromiseLike<unknown>

const RECIPES = 'docs/enqueue.md has a recipe per client'

/**
 * A Kysely that runs every statement on the caller's connection, inside the caller's transaction, so
 * tasklane's enqueue (idempotency claims, pg-boss's insert) commits or rolls back with it. Throws a
 * TypeError for a handle that is not one transaction (a pool, a client's root object) or that
 * tasklane cannot drive, saying what to pass instead.
 */
export function callerKysely(db: CallerDb): Kysely<any> {
  const d = db as any
  if (d === null || (typeof d !== 'object' && typeof d !== 'function')) throw unsupported(db)
  if (typeof d.selectFrom === 'function' && typeof d.executeQuery === 'function') return d as Kysely<any>
  return kyselyOver(runnerFor(d))
}

function runnerFor(d: any): Run {
  if (typeof d.executeSql === 'function') return (text, values) => d.executeSql(text, [...values])
  if (typeof d.unsafe === 'function') {
    if (typeof d.begin === 'function') {
      throw new TypeError(
        "db is postgres.js's root sql: it runs each statement on any free connection. Pass the tx of " +
          `sql.begin(async (tx) => …) instead (${RECIPES})`,
      )
    }
    return (text, values) => d.unsafe(text, [...values])
  }
  if (typeof d.$queryRawUnsafe === 'function') {
    // An interactive transaction client has no $connect/$disconnect (it still has $transaction).
    if (typeof d.$disconnect === 'function') {
      throw new TypeError(
        'db is a PrismaClient, not a transaction: pass the tx of prisma.$transaction(async (tx) => …) ' +
          `(${RECIPES})`,
      )
    }
    const adapter = fromPrisma(d)
    return (text, values) => adapter.executeSql(text, [...values])
  }
  if (typeof d.raw === 'function' && typeof d.transaction === 'function') {
    if (d.isTransaction !== true) {
      throw new TypeError(
        'db is a Knex instance, not a transaction: pass the trx of knex.transaction(async (trx) => …) ' +
          `(${RECIPES})`,
      )
    }
    const adapter = fromKnex(d)
    return (text, values) => adapter.executeSql(text, [...values])
  }
  if (typeof d.query === 'function') {
    if (typeof d.connect === 'function' && typeof d.totalCount === 'number') {
      throw new TypeError(
        'db is a pg.Pool: a pool runs each query on whichever connection is free, so it cannot hold a ' +
          "transaction. Check out a client (const client = await pool.connect(); await client.query('BEGIN')) " +
          `and pass the client (${RECIPES})`,
      )
    }
    return (text, values) => d.query(text, [...values])
  }
  throw unsupported(d)
}

function unsupported(db: unknown): TypeError {
  return new TypeError(
    `db (${db === null ? 'null' : typeof db}) is not a transaction tasklane can enqueue through: pass a Kysely ` +
      'transaction, a node-postgres client inside BEGIN, any { query(text, values) }, a postgres.js, Knex or ' +
      `Prisma transaction, or fromDrizzle(tx, sql) (${RECIPES})`,
  )
}

function kyselyOver(run: Run): Kysely<any> {
  const connection: DatabaseConnection = {
    async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
      const result = (await run(query.sql, query.parameters)) as any
      const rows: R[] = Array.isArray(result) ? result : Array.isArray(result?.rows) ? result.rows : []
      const count = result?.rowCount ?? (result as { count?: number } | null)?.count
      return { rows, ...(typeof count === 'number' ? { numAffectedRows: BigInt(count) } : {}) }
    },
    // biome-ignore lint/correctness/useYield: streaming is never used on a caller's transaction
    async *streamQuery() {
      throw new Error("tasklane does not stream on a caller's transaction")
    },
  }
  const driver: Driver = {
    async init() {},
    async acquireConnection() {
      return connection
    },
    async beginTransaction() {
      throw new Error("tasklane never opens a transaction on the caller's: it is already in one")
    },
    async commitTransaction() {},
    async rollbackTransaction() {},
    async releaseConnection() {},
    async destroy() {},
  }
  return new Kysely<any>({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => driver,
      createIntrospector: (db) => new PostgresIntrospector(db),
      createQueryCompiler: () => new PostgresQueryCompiler(),
    },
  })
}
