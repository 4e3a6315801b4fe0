/*
 * `tsmalloc bench [traces...]`: the configurations against each other and against what a
 * JavaScript user would pick instead, on real traces and two synthetic churns. The runs go
 * through @tsmalloc/trace's harness: a fresh worker per run, contenders alternating, medians and ratios
 * to the first column, a time budget per run.
 */
import { bundledTracePath } from "@tsmalloc/bundled-traces";
import { formatCounted } from "@tsmalloc/trace";
import { type BenchCase, benchTableRows, type BenchCell, formatBenchTable, largeChurn, runBenchmarks, smallChurn } from "@tsmalloc/trace/bench";
import { type OptionSpec, parseCommandLine, seconds, wholeNumber } from "./args.ts";
import { benchWorkers } from "./bench-workers.ts";
import { CONTENDER_NAMES, DEFAULT_CONTENDERS } from "./contenders.ts";
import { ExitCode, usageError } from "./errors.ts";
import { roundTo, textTable } from "./format.ts";
import type { CliIo } from "./io.ts";
import { loadTraceFile } from "./load.ts";

const BENCH_OPTIONS: OptionSpec = {
  allocators: { type: "string" },
  runs: { type: "string" },
  budget: { type: "string" },
  quick: { type: "boolean" },
  json: { type: "boolean" },
  markdown: { type: "boolean" },
  workers: { type: "string" },
};

/** Events of each trace `--quick` keeps. */
const QUICK_EVENTS = 100_000;

/** The module the bench workers import: this one's sibling, built or not. */
export const CONTENDERS_MODULE: URL = new URL(import.meta.url.endsWith(".ts") ? "./contenders.ts" : "./contenders.js", import.meta.url);

/**
 * Reads `--allocators`: known names, none twice.
 * @throws CliError (exit 2) for an empty list, an unknown name or a repeated one
 */
export function contenderList(text: string | undefined): readonly string[] {
  if (text === undefined) return DEFAULT_CONTENDERS;
  const names = text.split(",").map((name) => name.trim());
  for (const [i, name] of names.entries()) {
    if (name === "") throw usageError("bench", `--allocators has an empty name in "${text}"`);
    if (!CONTENDER_NAMES.includes(name)) throw usageError("bench", `--allocators: unknown allocator "${name}"; expected some of ${CONTENDER_NAMES.join(", ")}`);
    if (names.indexOf(name) !== i) throw usageError("bench", `--allocators names "${name}" twice`);
  }
  return names;
}

/** `tsmalloc bench`. @returns the exit code; @throws CliError */
export async function benchCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const command = "bench";
  const { values, positionals: paths } = parseCommandLine(command, argv, BENCH_OPTIONS);
  if (values.json === true && values.markdown === true) throw usageError(command, "--json and --markdown cannot go together");
  const quick = values.quick === true;
  const runs = values.runs === undefined ? (quick ? 1 : 5) : wholeNumber(command, "--runs", values.runs as string, 1);
  if (values.workers !== undefined) {
    const workers = wholeNumber(command, "--workers", values.workers as string, 2);
    const budgetSeconds = values.budget === undefined ? 60 : seconds(command, "--budget", values.budget as string);
    return benchWorkers({ values, positionals: paths }, { workers, runs, budgetSeconds, quick }, io);
  }
  const contenders = contenderList(values.allocators as string | undefined);
  const budgetSeconds = values.budget === undefined ? 20 : seconds(command, "--budget", values.budget as string);
  const tracePaths = paths.length > 0 ? paths : [bundledTracePath("py_compileall"), bundledTracePath("gcc_cc1_wrapt")];

  const cases: BenchCase[] = [];
  for (const path of tracePaths) {
    const { trace } = await loadTraceFile(path, io, quick ? QUICK_EVENTS : Infinity);
    cases.push({ name: `replay ${trace.name} (${formatCounted(trace.length, "event")})`, workload: { kind: "replay", trace }, warmup: 1 });
  }
  cases.push({ name: "churn 8..512 B, 10,000 live", workload: { kind: "churn", churn: smallChurn(quick ? 20_000 : 200_000) }, warmup: 1 });
  cases.push({ name: "churn 16..64 KiB, 1,000 live", workload: { kind: "churn", churn: largeChurn(quick ? 5_000 : 50_000) }, warmup: 1 });

  const started = Date.now();
  const progress = io.errIsTerminal ? (line: string): void => io.err(`\r\u001b[2K${line}`) : undefined;
  const cells = await runBenchmarks(cases, { module: CONTENDERS_MODULE, contenders, runs, budgetMs: budgetSeconds * 1000, ...(progress === undefined ? {} : { progress }) });
  if (progress !== undefined) io.err("\r\u001b[2K");
  const elapsed = (Date.now() - started) / 1000;

  if (values.json === true) {
    io.out(`${JSON.stringify(benchJson(cases, cells, { runs, budgetSeconds, quick, contenders, elapsed }), null, 2)}\n`);
    return ExitCode.Ok;
  }
  const table = values.markdown === true ? formatBenchTable(cells, cases, contenders) : textTable(benchTableRows(cells, cases, contenders), 2);
  const note = `${runs === 1 ? "1 run" : `median of ${runs} runs`} per cell${quick ? " (--quick: smaller workloads)" : ""}, each in a fresh worker on a fresh allocator after an untimed pass on another (to compile the code); allocators alternating; ratios to the first column; budget ${budgetSeconds} s per run; ${elapsed.toFixed(0)} s in all; node ${process.version}`;
  io.out(`${table}\n\n${note}\n${failureNotes(cells)}`);
  return ExitCode.Ok;
}

/**
 * `bench --json` (the README lists the fields): a case's times are nanoseconds per unit, its
 * `unit` being a trace's event or a churn's malloc/free pair, rounded to 0.1 ns; each cell's ratio
 * is to the first contender's median on the same case, to 3 decimals.
 */
function benchJson(
  cases: readonly BenchCase[],
  cells: readonly BenchCell[],
  run: { readonly runs: number; readonly budgetSeconds: number; readonly quick: boolean; readonly contenders: readonly string[]; readonly elapsed: number },
): Record<string, unknown> {
  return {
    runsPerCell: run.runs,
    budgetSeconds: run.budgetSeconds,
    quick: run.quick,
    contenders: run.contenders,
    cases: cases.map((c) => ({
      name: c.name,
      unit: c.workload.kind === "churn" ? "pair" : "event",
      unitsPerRun: c.workload.kind === "churn" ? c.workload.churn.pairs : c.workload.trace.length,
    })),
    cells: cells.map((cell) => {
      const base = cells.find((other) => other.case === cell.case && other.contender === run.contenders[0])?.median ?? null;
      return {
        case: cell.case,
        contender: cell.contender,
        status: cell.status,
        medianNsPerUnit: roundTo(cell.median, 1),
        runsNsPerUnit: cell.runs.map((ns) => roundTo(ns, 1)),
        ratio: cell.median === null || base === null || base === 0 ? null : roundTo(cell.median / base, 3),
        failures: cell.failures,
        ...(cell.error === undefined ? {} : { error: cell.error }),
      };
    }),
    elapsedSeconds: roundTo(run.elapsed, 1),
    node: process.version,
  };
}

/** One line for each cell that failed, with its error's first line. */
function failureNotes(cells: readonly BenchCell[]): string {
  return cells
    .filter((cell) => cell.status === "failed")
    .map((cell) => `${cell.contender} failed on ${cell.case}: ${(cell.error ?? "").split("\n", 1)[0]}\n`)
    .join("");
}
