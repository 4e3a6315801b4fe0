/*
 * The workers benchmark of @tsmalloc/registry (`pnpm bench:threads`, and the second table of
 * `pnpm bench`): several
 * workers on one shared memory, through the MEM domain, in the columns of @tsmalloc/trace/bench's
 * threads-bench.ts: a private heap, the locked shared heap, and a free-threaded runtime, with one
 * worker and with two; a producer -> consumer pipeline; a remote free against a local one. One
 * command prints the whole table and what it means against the targets.
 *
 *   pnpm bench:threads                 5 runs per cell
 *   pnpm bench:threads --runs 9        more runs
 *   pnpm bench:threads --quick         1 run, a twentieth of the work (a smoke test)
 */
import { execSync } from "node:child_process";
import { cpus, loadavg } from "node:os";
import { type BenchArgs, columnName, formatThreadTable, runThreadBenchmarks, scalingCases, threadSummary } from "@tsmalloc/trace/bench";

/** Runs the workers benchmark and prints its table. */
export async function benchThreads({ runs, quick, budgetSeconds }: BenchArgs): Promise<void> {
  const started = Date.now();
  const cases = scalingCases(2, quick);
  const modules = { registry: import.meta.resolve("@tsmalloc/registry"), memory: import.meta.resolve("@tsmalloc/memory") };
  const progress = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };
  const load = loadavg().map((n) => n.toFixed(2)).join(", ");
  const cells = await runThreadBenchmarks(cases, { modules, runs, budgetMs: budgetSeconds * 1000 * 2, progress });
  process.stdout.write(`\n${formatThreadTable(cells, cases)}\n\n`);
  for (const line of threadSummary(cells)) process.stdout.write(`${line}\n`);
  for (const cell of cells.filter((c) => c.status === "failed")) process.stdout.write(`${cell.shape}, ${cell.config}, ${columnName(cell.column)} failed: ${(cell.error ?? "").split("\n", 1)[0]}\n`);
  process.stdout.write(
    `\nmedian of ${runs} run(s) per cell, fresh workers and memory each run, columns alternating; ratios taken run by run, then the median, to the row's first column (remote free: to a local free in the same run; pipeline "busy": the two workers' own work per block, waits left out, in the median batch of 64); ${((Date.now() - started) / 1000).toFixed(0)} s in all; node ${process.version}; ${cpus().length} cores; load average ${load} at the start; at the end: ${uptime()}\n`,
  );
}

function uptime(): string {
  try {
    return execSync("uptime", { encoding: "utf8" }).trim();
  } catch {
    return "uptime unavailable";
  }
}
