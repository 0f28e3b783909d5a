// Attribute names of OpenTelemetry's messaging semantic conventions
// (https://opentelemetry.io/docs/specs/semconv/messaging/), copied rather than imported: they live in
// the "incubating" entry point of @opentelemetry/semantic-conventions, which libraries should not
// depend on. pg-boss 12 does the same. tasklane's own attributes are under `tasklane.task.*`.

/** Span attribute names written by tasklane. Each is described in docs/observability.md. */
export const ATTR = Object.freeze({
  messagingSystem: 'messaging.system',
  operationName: 'messaging.operation.name',
  operationType: 'messaging.operation.type',
  destinationName: 'messaging.destination.name',
  messageId: 'messaging.message.id',
  batchMessageCount: 'messaging.batch.message_count',
  clientId: 'messaging.client.id',
  errorType: 'error.type',
  taskName: 'tasklane.task.name',
  priority: 'tasklane.task.priority',
  attempt: 'tasklane.task.attempt',
  maxAttempts: 'tasklane.task.max_attempts',
  waitMs: 'tasklane.task.wait_ms',
  outcome: 'tasklane.task.outcome',
  status: 'tasklane.task.status',
  deduplicated: 'tasklane.task.deduplicated',
  scheduled: 'tasklane.task.scheduled',
} as const)

/** `messaging.system` of every tasklane span. */
export const MESSAGING_SYSTEM = 'tasklane'

/** Instrumentation scope name of tasklane's tracer. */
export const INSTRUMENTATION_SCOPE = 'tasklane'
