/*
 * `pnpm bench` for @tsmalloc/registry: what routing through a runtime's domains costs, as a ratio
 * to calling pymalloc directly, on testkit's small churn and a replay of the py_compileall trace;
 * then the workers benchmark (bench/threads.ts: a heap shared by workers, locked and
 * free-threaded). Every run is a fresh worker; runs alternate between contenders; the table shows
 * medians and ratios to the first column.
 *
 *   pnpm bench                    5 runs per cell (several minutes; pnpm bench:threads: the second table alone)
 *   pnpm bench --runs 9           more runs
 *   pnpm bench --quick            1 run, smaller workloads (a smoke test of the harness)
 */
import { type BenchCase, bundledTracePath, formatBenchTable, loadTrace, parseBenchArgs, runBenchmarks, smallChurn } from "@tsmalloc/testkit";
import { benchThreads } from "./threads.ts";

const args = parseBenchArgs();
const { runs, quick, budgetSeconds } = args;
const module = new URL("./contenders.ts", import.meta.url);
const progress = (line: string): void => {
  process.stderr.write(`${line}\n`);
};
const started = Date.now();

const cases: BenchCase[] = [
  { name: "churn 8..512 B, 10,000 live", workload: { kind: "churn", churn: smallChurn(quick ? 20_000 : 500_000) }, warm: true },
  { name: "replay py_compileall (1.00 M events)", workload: { kind: "replay", trace: loadTrace(bundledTracePath("py_compileall"), quick ? 100_000 : Infinity) }, warm: true },
];
const contenders = ["pymalloc direct", "runtime.objMalloc", "runtime.memMalloc", "objMalloc()"];
const cells = await runBenchmarks(cases, { module, contenders, runs, budgetMs: budgetSeconds * 1000, progress });
process.stdout.write(`\n${formatBenchTable(cells, cases, contenders)}\n\n`);
process.stdout.write(`median of ${runs} run(s) per cell, each in a fresh worker, contenders alternating; ratios to the first column; ${((Date.now() - started) / 1000).toFixed(0)} s in all; node ${process.version}\n`);
await benchThreads(args);
