/*
 * `@tsmalloc/trace/bench` (Node): the benchmark harness of `tsmalloc bench` and of every
 * package's `pnpm bench`. Each run in a fresh worker, contenders alternating, medians and ratios
 * in one table; the synthetic churns; the peers a JavaScript user would pick instead.
 */
export { type BenchArgs, parseBenchArgs } from "./bench-args.ts";
export {
  type BenchCase,
  type BenchCell,
  type BenchOptions,
  type BenchReply,
  type BenchWorkload,
  type ContenderFactory,
  type ExternalContender,
  runBenchmarks,
  shareWorkload,
} from "./bench-harness.ts";
export { benchTableRows, formatBenchTable } from "./bench-table.ts";
export { type Churn, churn, largeChurn, runChurn, smallChurn } from "./churn.ts";
export { median } from "./median.ts";
export { ThingPoolTarget, TypedArraysTarget } from "./peers.ts";
export { PIPELINE_BATCH, pipelineWarmBlocks } from "./pipeline-warm-up.ts";
export { prng } from "./random.ts";
export { startWorker } from "./worker.ts";
export {
  columnName,
  formatThreadTable,
  isNativeMode,
  type NativeThreadAllocator,
  type NativeThreadRunner,
  pairedRatio,
  runThreadBenchmarks,
  scalingCases,
  shapeUnit,
  type ThreadBenchModules,
  type ThreadBenchOptions,
  type ThreadCase,
  type ThreadCell,
  type ThreadColumn,
  type ThreadMode,
  type ThreadRunOutcome,
  type ThreadShape,
  threadSummary,
  threadTableRows,
} from "./threads-bench.ts";
