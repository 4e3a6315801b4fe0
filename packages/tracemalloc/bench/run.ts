/*
 * `pnpm bench` for @tsmalloc/tracemalloc: what tracing costs per malloc+free pair, at 1 and 10
 * frames, against the same runtime untraced, and in a free-threaded runtime whose frees are the
 * allocating thread's own or another thread's (announced to the allocating thread's tracer), side
 * by side in one run; what a pair allocates on
 * the JavaScript heap (bench/allocation.ts); then CPython's own tracemalloc on a comparable loop
 * (bench/cpython-tracemalloc.py), when python3 is installed. Every timed run is a fresh worker;
 * runs alternate between contenders; the tables show medians and ratios to the first column.
 *
 *   pnpm bench                    5 runs per cell
 *   pnpm bench --runs 9           more runs
 *   pnpm bench --quick            1 run, smaller workloads (a smoke test of the harness)
 */
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { type BenchCase, formatBenchTable, parseBenchArgs, runBenchmarks, smallChurn } from "@tsmalloc/testkit";

const { runs, quick, budgetSeconds } = parseBenchArgs();
const module = new URL("./contenders.ts", import.meta.url);
const progress = (line: string): void => {
  process.stderr.write(`${line}\n`);
};
const started = Date.now();

const cases: BenchCase[] = [{ name: "churn 8..512 B, 10,000 live", workload: { kind: "churn", churn: smallChurn(quick ? 10_000 : 50_000) }, warm: true }];
const contenders = ["untraced", "V8 capture alone", "traced, 1 frame", "traced, 10 frames", "free-threaded, own frees", "free-threaded, remote frees", "free-threaded, traced, own frees", "free-threaded, traced, remote frees"];
const cells = await runBenchmarks(cases, { module, contenders, runs, budgetMs: budgetSeconds * 1000, progress });
process.stdout.write(`\n${formatBenchTable(cells, cases, contenders)}\n\n`);
process.stdout.write(`median of ${runs} run(s) per cell, each in a fresh worker, contenders alternating; ratios to the first column; node ${process.version}\n\n`);

// what a pair allocates, in a process of its own (it needs --expose-gc)
const tsx = createRequire(import.meta.url).resolve("tsx");
const allocation = fileURLToPath(new URL("./allocation.ts", import.meta.url));
process.stdout.write(
  `${execFileSync(process.execPath, ["--expose-gc", "--max-semi-space-size=64", "--import", tsx, "--conditions=@tsmalloc/source", allocation], { encoding: "utf8" })}\n`,
);

// CPython's tracemalloc on the same churn, as the anchor
const script = fileURLToPath(new URL("./cpython-tracemalloc.py", import.meta.url));
try {
  const out = execFileSync("python3", [script, "--runs", String(runs), ...(quick ? ["--quick"] : [])], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  process.stdout.write(out);
} catch (error) {
  process.stdout.write(`CPython's figures skipped: python3 could not run ${script} (${(error as Error).message.split("\n")[0]})\n`);
}
process.stdout.write(`\n${((Date.now() - started) / 1000).toFixed(0)} s in all\n`);
