/*
 * The test kit's own part (the model of property tests, the size probe, README examples, workers in tests), then what the repository's tests and benchmarks take from
 * @tsmalloc/trace and @tsmalloc/bundled-traces, under the same names, so that a test imports
 * its kit from one place.
 */
export { type ExampleRun, markedExamples, runExample } from "./example.ts";
export { AllocatorModel, type HeapsStep, type ModelBlock, runHeapsSteps, type SlotHeap } from "./model.ts";
export { BOUNDARY_REACH, boundarySizes, probeSizes, type SizeProbeMemory, type SizeProbeOptions, type SizeProbeTarget } from "./size-probe.ts";
export { firstMessage, runWorkers } from "./worker.ts";

export { type BundledTrace, bundledTraceMeta, bundledTracePath, type TraceMeta } from "@tsmalloc/bundled-traces";
export {
  findMismatch,
  isGzip,
  loadTrace,
  OP_CALLOC,
  OP_FREE,
  OP_MALLOC,
  OP_MEMALIGN,
  OP_REALLOC,
  parseTrace,
  patternByte,
  readTrace,
  type ReadTraceOptions,
  ReplayMismatch,
  type ReplayOptions,
  type ReplayResult,
  type ReplayTarget,
  replayVerified,
  type TargetMemory,
  TimedReplay,
  type Trace,
  TraceFormatError,
  traceName,
  TraceParser,
  type TraceProfile,
  traceProfile,
} from "@tsmalloc/trace";
export {
  type BenchArgs,
  type BenchCase,
  type BenchCell,
  type BenchOptions,
  type BenchWorkload,
  benchTableRows,
  type Churn,
  churn,
  type ContenderFactory,
  formatBenchTable,
  largeChurn,
  median,
  parseBenchArgs,
  prng,
  runBenchmarks,
  runChurn,
  smallChurn,
  startWorker,
  ThingPoolTarget,
  TypedArraysTarget,
} from "@tsmalloc/trace/bench";
