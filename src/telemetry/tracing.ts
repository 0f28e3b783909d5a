import {
  type Attributes,
  type Context,
  context,
  ProxyTracerProvider,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api'
import { ATTR, INSTRUMENTATION_SCOPE, MESSAGING_SYSTEM } from './semconv.ts'

// The API's no-op provider, which a ProxyTracerProvider delegates to until an SDK registers.
const NOOP_PROVIDER = new ProxyTracerProvider().getDelegate()

/**
 * True when the application registered a tracer provider (an OpenTelemetry SDK). Checked on every
 * enqueue and attempt, so an SDK registered after tasklane started is picked up; when it is false
 * tasklane makes no span, allocates nothing for tracing and stores no trace context.
 */
export function tracingEnabled(): boolean {
  const provider = trace.getTracerProvider()
  // A provider that is not our API copy's proxy (another copy of @opentelemetry/api registered it, or
  // the application bypassed the proxy) is taken as enabled: spans then decide for themselves.
  return !(provider instanceof ProxyTracerProvider) || provider.getDelegate() !== NOOP_PROVIDER
}

export function tracer(): Tracer {
  return trace.getTracer(INSTRUMENTATION_SCOPE)
}

/** The messaging attributes every tasklane span carries. */
export function messagingAttributes(
  operation: string,
  type: 'send' | 'process' | 'settle',
  queue: string | undefined,
): Attributes {
  const attributes: Attributes = {
    [ATTR.messagingSystem]: MESSAGING_SYSTEM,
    [ATTR.operationName]: operation,
    [ATTR.operationType]: type,
  }
  if (queue !== undefined) attributes[ATTR.destinationName] = queue
  return attributes
}

/** Span name per the messaging conventions: `{operation} {destination}`. */
export function spanName(operation: string, queue: string | undefined): string {
  return queue === undefined ? operation : `${operation} ${queue}`
}

/** Marks a span failed: status ERROR, `error.type`, and the exception as an event. */
export function recordError(span: Span, err: unknown, type?: string): void {
  span.setAttribute(ATTR.errorType, type ?? (err instanceof Error ? err.name : '_OTHER'))
  if (err instanceof Error) {
    span.recordException(err)
    span.setStatus({ code: SpanStatusCode.ERROR, message: err.message })
  } else {
    span.recordException({ name: type ?? 'Error', message: String(err) })
    span.setStatus({ code: SpanStatusCode.ERROR, message: String(err) })
  }
}

/** Starts a span of `kind` under `parent`, and returns it with the context that has it active. */
export function startSpan(
  name: string,
  kind: SpanKind,
  attributes: Attributes,
  parent: Context,
  startTime?: Date,
): { span: Span; context: Context } {
  const span = tracer().startSpan(name, { kind, attributes, ...(startTime ? { startTime } : {}) }, parent)
  return { span, context: trace.setSpan(parent, span) }
}

export { context, SpanKind }
