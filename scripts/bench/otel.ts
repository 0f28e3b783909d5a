// BENCH_OTEL=1 registers an OpenTelemetry SDK in the bench process, the way an application would
// (NodeTracerProvider.register(): AsyncLocalStorage context, W3C propagation), with the batch span
// processor and an exporter that discards what it is given: it measures what tracing costs tasklane
// and the SDK, not a collector's network. BENCH_OTEL=context registers only the SDK's context manager,
// activated (no tracer provider, so tasklane makes no span): the share of that cost every async
// operation of the process pays once an SDK is registered. Without either no SDK is registered (tracing off).

// The SDK is imported only when asked for: a bench process without it (the memory scenario's worker
// among them) must not carry its modules in its heap.
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base'

class DiscardingExporter implements SpanExporter {
  exported = 0
  export(spans: ReadableSpan[], done: (result: { code: number }) => void): void {
    this.exported += spans.length
    done({ code: 0 })
  }
  async shutdown(): Promise<void> {}
}

export async function registerBenchTracing(): Promise<void> {
  if (process.env.BENCH_OTEL === 'context') {
    const { context } = await import('@opentelemetry/api')
    const { AsyncLocalStorageContextManager } = await import('@opentelemetry/context-async-hooks')
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
    // Node 22's AsyncLocalStorage installs its async hooks on the first run(): an application's HTTP
    // instrumentation does so with its first request; here one empty run does it.
    context.with(context.active().setValue(Symbol('bench'), true), () => {})
    console.error('# BENCH_OTEL: context manager only (no tracer provider)')
    return
  }
  if (process.env.BENCH_OTEL !== '1') return
  const { BatchSpanProcessor } = await import('@opentelemetry/sdk-trace-base')
  const { NodeTracerProvider } = await import('@opentelemetry/sdk-trace-node')
  const exporter = new DiscardingExporter()
  new NodeTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter)] }).register()
  process.on('exit', () => console.error(`# BENCH_OTEL: ${exporter.exported} spans exported`))
  console.error('# BENCH_OTEL: OpenTelemetry SDK registered (batch processor, discarding exporter)')
}
