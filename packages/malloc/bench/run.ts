/*
 * `pnpm bench` for @tsmalloc/malloc: the churn workloads and a replay of the gcc_cc1_wrapt trace,
 * tsmalloc's Malloc beside @thi.ng/malloc and `new Uint8Array`; then the small churn with Malloc
 * on each kind of memory. Every run is a fresh worker; runs alternate between contenders; the
 * tables show medians and ratios to the first column.
 *
 *   pnpm bench                    5 runs per cell
 *   pnpm bench -- --runs 9        more runs
 *   pnpm bench -- --quick         1 run, smaller workloads (a smoke test of the harness)
 */
import {
  type BenchCase,
  bundledTracePath,
  formatBenchTable,
  largeChurn,
  loadTrace,
  runBenchmarks,
  smallChurn,
  parseBenchArgs,
} from "@tsmalloc/testkit";

const { runs, quick, budgetSeconds } = parseBenchArgs();
const contenders = ["tsmalloc malloc", "tsmalloc malloc, shared", "@thi.ng/malloc MemPool", "new Uint8Array"];
const large = largeChurn(quick ? 5_000 : 400_000);
const cases: BenchCase[] = [
  { name: "churn 16..64 KiB, 1,000 live", workload: { kind: "churn", churn: large } },
  { name: "the same, warm (second pass)", workload: { kind: "churn", churn: large }, warm: true },
  { name: "churn 8..512 B, 10,000 live", workload: { kind: "churn", churn: smallChurn(quick ? 20_000 : 1_000_000) } },
  { name: "replay gcc_cc1_wrapt (1.45 M events)", workload: { kind: "replay", trace: loadTrace(bundledTracePath("gcc_cc1_wrapt"), quick ? 100_000 : Infinity) } },
];
const started = Date.now();
const cells = await runBenchmarks(cases, {
  module: new URL("./contenders.ts", import.meta.url),
  contenders,
  runs,
  budgetMs: budgetSeconds * 1000,
  progress: (line) => process.stderr.write(`${line}\n`),
});
process.stdout.write(`\n${formatBenchTable(cells, cases, contenders)}\n\n`);

// the same allocator on every backing a LinearMemory can have
const backings = ["WebAssembly.Memory", "fixed ArrayBuffer", "resizable ArrayBuffer", "shared WebAssembly.Memory", "growable SharedArrayBuffer"];
const backingCases: BenchCase[] = [cases[2]!];
const backingCells = await runBenchmarks(backingCases, {
  module: new URL("./contenders.ts", import.meta.url),
  contenders: backings,
  runs,
  budgetMs: budgetSeconds * 1000,
  progress: (line) => process.stderr.write(`${line}\n`),
});
process.stdout.write(`${formatBenchTable(backingCells, backingCases, backings)}\n\n`);
process.stdout.write(`median of ${runs} run(s) per cell, each in a fresh worker, contenders alternating; ratios to the first column; budget ${budgetSeconds} s per run; ${((Date.now() - started) / 1000).toFixed(0)} s in all; node ${process.version}\n`);
