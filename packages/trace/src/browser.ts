/*
 * `@tsmalloc/trace/browser`: everything of the package that runs anywhere, without a Node API
 * (a test walks this entry's imports to keep it so): the format (parser, builder, writer,
 * recorder), the profile, replay, recording a runtime's domain, and the figures' formatting. The
 * main entry adds the files; `@tsmalloc/trace/bench` is the benchmark harness.
 */
export { isTraceError, TraceError, TraceErrorCode, TraceFormatError } from "./errors.ts";
export { findMismatch, patternByte } from "./fill-pattern.ts";
export { formatBytes, formatCount, formatCounted, formatExactBytes, formatMilliseconds, formatNanoseconds, formatRatio } from "./format.ts";
export { SIZE_BUCKETS, type SizeBucket, type TraceProfile, type TraceProfileOptions, traceProfile } from "./profile.ts";
export { recordTrace, type RecordingResult, type RecordTraceOptions, TraceRecording } from "./record-trace.ts";
export { ReplayMismatch, type ReplayMismatchOptions } from "./replay-mismatch.ts";
export {
  type DomainAllocator,
  domainTarget,
  type DomainTargetOptions,
  type ReplayTarget,
  type TargetMemory,
  TRACE_DOMAINS,
  type TraceDomain,
  type TraceRuntime,
} from "./replay-target.ts";
export { type ReplayOptions, type ReplayResult, replayVerified } from "./replay-verified.ts";
export { TimedReplay } from "./timed-replay.ts";
export { isGzip, OP_CALLOC, OP_FREE, OP_MALLOC, OP_MEMALIGN, OP_REALLOC, type Trace, traceLine, traceName, type TraceOp } from "./trace.ts";
export { TraceBuilder } from "./trace-builder.ts";
export { parseTrace, TraceParser } from "./trace-parser.ts";
export { type RecorderCounts, TraceRecorder, type TraceRecorderOptions } from "./trace-recorder.ts";
export { type TraceSink, writeTrace } from "./trace-sink.ts";
export { TraceWriter } from "./trace-writer.ts";
