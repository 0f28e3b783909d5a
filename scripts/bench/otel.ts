// BENCH_OTEL=1 registers an OpenTelemetry SDK in the bench process, the way an application would
// (NodeTracerProvider.register(): AsyncLocalStorage context, W3C propagation), with the batch span
// processor and an exporter that discards what it is given: it measures what tracing costs tasklane
// and the SDK, not a collector's network. BENCH_OTEL=context registers only the SDK's context manager,
// activated (no tracer provider, so tasklane makes no span): the share of that cost every async
// operation of the process pays once an SDK is registered. Without either no SDK is registered (tracing off).

import { context } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { BatchSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base'
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node'

class DiscardingExporter implements SpanExporter {
  exported = 0
  export(spans: ReadableSpan[], done: (result: { code: number }) => void): void {
    this.exported += spans.length
    done({ code: 0 })
  }
  async shutdown(): Promise<void> {}
}

export function registerBenchTracing(): void {
  if (process.env.BENCH_OTEL === 'context') {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
    // Node 22's AsyncLocalStorage installs its async hooks on the first run(): an application's HTTP
    // instrumentation does so with its first request; here one empty run does it.
    context.with(context.active().setValue(Symbol('bench'), true), () => {})
    console.error('# BENCH_OTEL: context manager only (no tracer provider)')
    return
  }
  if (process.env.BENCH_OTEL !== '1') return
  const exporter = new DiscardingExporter()
  new NodeTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter)] }).register()
  process.on('exit', () => console.error(`# BENCH_OTEL: ${exporter.exported} spans exported`))
  console.error('# BENCH_OTEL: OpenTelemetry SDK registered (batch processor, discarding exporter)')
}
