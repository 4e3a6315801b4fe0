/*
 * `@tsmalloc/trace`: the browser-safe part (browser.ts), and reading and writing trace files
 * (Node).
 */
export * from "./browser.ts";
export { loadTrace } from "./load-trace.ts";
export { readTrace, type ReadTraceOptions } from "./read-trace.ts";
export { createTraceFile, type TraceFileOptions, TraceFileWriter } from "./trace-file.ts";
