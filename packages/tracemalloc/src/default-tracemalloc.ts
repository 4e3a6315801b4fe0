/*
 * The package's functions: CPython's module-level tracemalloc API, on the tracer of the
 * registry's default runtime (the runtime `memMalloc`, `objMalloc`, … of @tsmalloc/registry use).
 * Each call looks the default runtime up, so after `setDefaultRuntime` they act on the new one.
 */
import { defaultRuntime } from "@tsmalloc/registry";
import type { Snapshot } from "./snapshot.ts";
import type { Traceback } from "./traceback.ts";
import { createTracemalloc, type Tracemalloc } from "./tracemalloc.ts";

/**
 * The tracer of the registry's default runtime (`defaultRuntime()`, created from the
 * environment on first use).
 *
 * @throws {@link TsmallocError} as `defaultRuntime()` (an unknown `TSMALLOC`)
 */
export function defaultTracemalloc(): Tracemalloc {
  return createTracemalloc(defaultRuntime());
}

/** `tracemalloc.start(nframe)` on the default runtime: see {@link Tracemalloc.start}. */
export function start(nframe: number = 1): void {
  defaultTracemalloc().start(nframe);
}
/** `tracemalloc.stop()` on the default runtime: see {@link Tracemalloc.stop}. */
export function stop(): void {
  defaultTracemalloc().stop();
}
/** `tracemalloc.is_tracing()` on the default runtime: see {@link Tracemalloc.isTracing}. */
export function isTracing(): boolean {
  return defaultTracemalloc().isTracing();
}
/** `tracemalloc.clear_traces()` on the default runtime: see {@link Tracemalloc.clearTraces}. */
export function clearTraces(): void {
  defaultTracemalloc().clearTraces();
}
/** `tracemalloc.get_traceback_limit()` on the default runtime: see {@link Tracemalloc.getTracebackLimit}. */
export function getTracebackLimit(): number {
  return defaultTracemalloc().getTracebackLimit();
}
/** `tracemalloc.get_traced_memory()` on the default runtime: see {@link Tracemalloc.getTracedMemory}. */
export function getTracedMemory(): [current: number, peak: number] {
  return defaultTracemalloc().getTracedMemory();
}
/** `tracemalloc.reset_peak()` on the default runtime: see {@link Tracemalloc.resetPeak}. */
export function resetPeak(): void {
  defaultTracemalloc().resetPeak();
}
/** `tracemalloc.get_tracemalloc_memory()` on the default runtime: see {@link Tracemalloc.getTracemallocMemory}. */
export function getTracemallocMemory(): number {
  return defaultTracemalloc().getTracemallocMemory();
}
/** {@link Tracemalloc.getRemoteFreesLost} on the default runtime (free-threading; no CPython counterpart). */
export function getRemoteFreesLost(): number {
  return defaultTracemalloc().getRemoteFreesLost();
}
/** `tracemalloc.take_snapshot()` on the default runtime: see {@link Tracemalloc.takeSnapshot}. */
export function takeSnapshot(): Snapshot {
  return defaultTracemalloc().takeSnapshot();
}
/** `tracemalloc.get_object_traceback()` on the default runtime: see {@link Tracemalloc.getObjectTraceback}. */
export function getObjectTraceback(address: number): Traceback | null {
  return defaultTracemalloc().getObjectTraceback(address);
}
/** `PyTraceMalloc_Track` on the default runtime: see {@link Tracemalloc.trackExternal}. */
export function trackExternal(domain: number, address: number, size: number): boolean {
  return defaultTracemalloc().trackExternal(domain, address, size);
}
/** `PyTraceMalloc_Untrack` on the default runtime: see {@link Tracemalloc.untrackExternal}. */
export function untrackExternal(domain: number, address: number): boolean {
  return defaultTracemalloc().untrackExternal(domain, address);
}
