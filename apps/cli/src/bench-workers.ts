/*
 * `tsmalloc bench --workers N`: the workers benchmark (@tsmalloc/trace/bench's threads-bench): N
 * workers on one shared memory, through the MEM domain, in private heaps, the locked shared heap,
 * and a free-threaded runtime (a heap per worker); a producer -> consumer pipeline; a remote free
 * against a local one. Beside them, the same shapes in C threads through glibc's malloc and
 * mimalloc (native-threads.ts), where they can be built: what native allocators get from the same
 * machine. It prints the table and what it says of scaling.
 */
import { loadavg } from "node:os";
import { columnName, formatThreadTable, runThreadBenchmarks, scalingCases, threadSummary, threadTableRows } from "@tsmalloc/trace/bench";
import type { ParsedLine } from "./args.ts";
import { ExitCode, usageError } from "./errors.ts";
import { textTable } from "./format.ts";
import type { CliIo } from "./io.ts";
import { ensureThreadPrograms, NATIVE_THREAD_ALLOCATORS, nativeThreadRunner } from "./native-threads.ts";

/** The settings of `bench` that the workers benchmark uses. */
export interface WorkersBenchSettings {
  readonly workers: number;
  readonly runs: number;
  readonly budgetSeconds: number;
  readonly quick: boolean;
}

/** `tsmalloc bench --workers N` (its options checked by the bench command). @returns the exit code */
export async function benchWorkers(line: ParsedLine, settings: WorkersBenchSettings, io: CliIo): Promise<number> {
  const command = "bench";
  if (line.positionals.length > 0) throw usageError(command, "--workers runs its own workloads; it takes no traces");
  if (line.values.allocators !== undefined) throw usageError(command, "--workers compares the default and malloc configurations in every column; it takes no --allocators");
  const { workers, runs, budgetSeconds, quick } = settings;
  const natives = ensureThreadPrograms(io.env);
  const cases = scalingCases(workers, quick, NATIVE_THREAD_ALLOCATORS.filter((allocator) => natives.paths.has(allocator)));
  const modules = { registry: import.meta.resolve("@tsmalloc/registry"), memory: import.meta.resolve("@tsmalloc/memory") };
  const load = loadavg().map((n) => n.toFixed(2)).join(", ");
  const started = Date.now();
  const progress = io.errIsTerminal ? (text: string): void => io.err(`\r\u001b[2K${text}`) : undefined;
  const cells = await runThreadBenchmarks(cases, { modules, runs, budgetMs: budgetSeconds * 1000, native: nativeThreadRunner(natives.paths), ...(progress === undefined ? {} : { progress }) });
  if (progress !== undefined) io.err("\r\u001b[2K");
  const elapsed = (Date.now() - started) / 1000;
  if (line.values.json === true) {
    io.out(`${JSON.stringify({ workers, runs, budgetSeconds, quick, cells, summary: threadSummary(cells), nativeNotes: natives.notes, seconds: elapsed, node: process.version, loadAverage: loadavg() }, null, 2)}\n`);
    return ExitCode.Ok;
  }
  const table = line.values.markdown === true ? formatThreadTable(cells, cases) : textTable(threadTableRows(cells, cases), 3);
  const failures = cells.filter((c) => c.status === "failed").map((c) => `${c.shape}, ${c.config}, ${columnName(c.column)} failed: ${(c.error ?? "").split("\n", 1)[0]}\n`);
  const note =
    `median of ${runs} run${runs === 1 ? "" : "s"} per cell, fresh workers on a fresh memory each run, gated to start at once; columns alternating; ` +
    `ratios taken run by run, then the median, to the row's first column (remote free: to a local free in the same run; pipeline "busy": the two workers' own work per block, waits left out, in the median batch of 64); budget ${budgetSeconds} s per run; ${elapsed.toFixed(0)} s in all; ` +
    `node ${process.version}; load average ${load} at the start`;
  io.out(`${table}\n\n${threadSummary(cells).join("\n")}\n\n${note}\n${natives.notes.map((line) => `${line}\n`).join("")}${failures.join("")}`);
  return ExitCode.Ok;
}
