// Adapters that run the job store's statements on a caller's Knex or Prisma transaction
// (enqueue/caller-db.ts): pg-boss's own, so the insert is exactly the one pg-boss runs elsewhere.
export { fromKnex, fromPrisma } from './boss.ts'
