/*
 * `pnpm bench` for @tsmalloc/debug: what the debug hooks cost around an allocator, as a ratio to
 * the same allocator bare (and beside the floor: the same allocator doing nothing but the hooks'
 * fills), on testkit's churn workloads and a replay of the gcc_cc1_wrapt trace;
 * then on a shared memory; then with allocation tracebacks on (a smaller workload: capturing a
 * stack costs microseconds). Every run is a fresh worker; runs alternate between contenders; the
 * tables show medians and ratios to the first column.
 *
 *   pnpm bench                    5 runs per cell (under a minute)
 *   pnpm bench --runs 7           more runs
 *   pnpm bench --quick            1 run, smaller workloads (a smoke test of the harness)
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
const module = new URL("./contenders.ts", import.meta.url);
const budgetMs = budgetSeconds * 1000;
const progress = (line: string): void => {
  process.stderr.write(`${line}\n`);
};
const started = Date.now();

// warm: each timed run goes over a heap that already ran the workload once, so that the kernel's
// page faults on fresh memory (the same for every contender) do not water the ratios down
const small: BenchCase = { name: "churn 8..512 B, 10,000 live", workload: { kind: "churn", churn: smallChurn(quick ? 20_000 : 500_000) }, warm: true };
const cases: BenchCase[] = [
  small,
  { name: "churn 16..64 KiB, 1,000 live", workload: { kind: "churn", churn: largeChurn(quick ? 2_000 : 20_000) }, warm: true },
  { name: "replay gcc_cc1_wrapt (1.45 M events)", workload: { kind: "replay", trace: loadTrace(bundledTracePath("gcc_cc1_wrapt"), quick ? 100_000 : Infinity) }, warm: true },
];
const contenders = ["malloc", "malloc + fills alone", "malloc + hooks", "malloc + hooks, serial numbers"];
const cells = await runBenchmarks(cases, { module, contenders, runs, budgetMs, progress });
process.stdout.write(`\n${formatBenchTable(cells, cases, contenders)}\n\n`);

const shared = ["shared malloc", "shared malloc + hooks"];
const sharedCells = await runBenchmarks([small], { module, contenders: shared, runs, budgetMs, progress });
process.stdout.write(`${formatBenchTable(sharedCells, [small], shared)}\n\n`);

const python: BenchCase = { name: "replay py_compileall (1.00 M events)", workload: { kind: "replay", trace: loadTrace(bundledTracePath("py_compileall"), quick ? 100_000 : Infinity) }, warm: true };
const pymalloc = ["pymalloc", "pymalloc + hooks"];
const pymallocCells = await runBenchmarks([small, python], { module, contenders: pymalloc, runs, budgetMs, progress });
process.stdout.write(`${formatBenchTable(pymallocCells, [small, python], pymalloc)}\n\n`);

const traced = ["malloc + hooks", "malloc + hooks, tracebacks 5"];
const tracedCases: BenchCase[] = [
  { name: "churn 8..512 B, 10,000 live (50,000 pairs)", workload: { kind: "churn", churn: smallChurn(quick ? 5_000 : 50_000) }, warm: true },
];
const tracedCells = await runBenchmarks(tracedCases, { module, contenders: traced, runs, budgetMs, progress });
process.stdout.write(`${formatBenchTable(tracedCells, tracedCases, traced)}\n\n`);

process.stdout.write(`median of ${runs} run(s) per cell, each in a fresh worker, contenders alternating; ratios to the first column; budget ${budgetSeconds} s per run; ${((Date.now() - started) / 1000).toFixed(0)} s in all; node ${process.version}\n`);
