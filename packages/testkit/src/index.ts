export {
  type BenchCase,
  type BenchCell,
  type BenchOptions,
  type BenchReply,
  type BenchTarget,
  type BenchWorkload,
  benchTableRows,
  type ContenderFactory,
  formatBenchTable,
  median,
  runBenchmarks,
  shareWorkload,
} from "./bench.ts";
export { AllocatorModel, type ModelBlock } from "./model.ts";
export { prng } from "./random.ts";
export {
  findMismatch,
  type MemoryBytes,
  patternByte,
  type ReplayAllocator,
  ReplayMismatch,
  type ReplayOptions,
  type ReplayResult,
  type ReplayTarget,
  replayTimed,
  replayVerified,
} from "./replay.ts";
export { readTrace, type ReadTraceOptions } from "./read-trace.ts";
export { type TraceProfile, traceProfile } from "./profile.ts";
export { type BundledTrace, bundledTraceMeta, bundledTracePath, loadTrace, type TraceMeta } from "./trace-file.ts";
export {
  isGzip,
  OP_CALLOC,
  OP_FREE,
  OP_MALLOC,
  OP_MEMALIGN,
  OP_REALLOC,
  parseTrace,
  type Trace,
  TraceFormatError,
  traceName,
  TraceParser,
} from "./trace.ts";
export { firstMessage, runWorkers, startWorker } from "./worker.ts";
export { ThingPoolTarget, TypedArraysTarget } from "./peers.ts";
export { type BenchArgs, parseBenchArgs } from "./bench-args.ts";
export { type Churn, type ChurnTarget, churn, largeChurn, runChurn, smallChurn } from "./workloads.ts";
export { type ExampleRun, markedExamples, runExample } from "./example.ts";
