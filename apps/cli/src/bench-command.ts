/*
 * `tsmalloc bench [traces...]`: the configurations against each other and against what a
 * JavaScript user would pick instead, on real traces and two synthetic churns. The runs go
 * through @tsmalloc/trace's harness: a fresh worker per run, contenders alternating, medians and ratios
 * to the first column, a time budget per run. The native columns (glibc, mimalloc, empty-c) are a
 * C replayer of the same trace files and churns, one process per run (native-replayer.ts).
 */
import { bundledTracePath } from "@tsmalloc/bundled-traces";
import { formatCounted } from "@tsmalloc/trace";
import { type BenchCase, benchTableRows, type BenchCell, type BenchReply, type ExternalContender, formatBenchTable, largeChurn, runBenchmarks, smallChurn } from "@tsmalloc/trace/bench";
import { type OptionSpec, parseCommandLine, seconds, wholeNumber } from "./args.ts";
import { benchWorkers } from "./bench-workers.ts";
import { CONTENDER_NAMES, DEFAULT_CONTENDERS, NATIVE_NAMES } from "./contenders.ts";
import { ExitCode, usageError } from "./errors.ts";
import { roundTo, textTable } from "./format.ts";
import type { CliIo } from "./io.ts";
import { loadTraceFile } from "./load.ts";
import { ensureReplayers, LARGE_CHURN, NATIVE_CONTENDERS, nativeContender, type NativeWorkload, SMALL_CHURN } from "./native-replayer.ts";

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
  const requested = contenderList(values.allocators as string | undefined);
  const budgetSeconds = values.budget === undefined ? 20 : seconds(command, "--budget", values.budget as string);
  const tracePaths = paths.length > 0 ? paths : [bundledTracePath("py_compileall"), bundledTracePath("gcc_cc1_wrapt")];

  const cases: BenchCase[] = [];
  const nativeWorkloads = new Map<string, NativeWorkload>();
  for (const given of tracePaths) {
    const { trace, path } = await loadTraceFile(given, io, quick ? QUICK_EVENTS : Infinity);
    const name = `replay ${trace.name} (${formatCounted(trace.length, "event")})`;
    cases.push({ name, workload: { kind: "replay", trace }, warmup: 1, warm: true });
    nativeWorkloads.set(name, { kind: "replay", path, events: trace.length });
  }
  for (const [name, spec, draw, pairs] of [
    ["churn 8..512 B, 10,000 live", SMALL_CHURN, smallChurn, quick ? 20_000 : 200_000],
    ["churn 16..64 KiB, 1,000 live", LARGE_CHURN, largeChurn, quick ? 5_000 : 50_000],
  ] as const) {
    const churn = draw(pairs);
    cases.push({ name, workload: { kind: "churn", churn }, warmup: 1, warm: true });
    nativeWorkloads.set(name, { kind: "churn", spec, churn });
  }

  // the native columns: built now (untimed); without --allocators, those that cannot be are left out
  const natives = ensureReplayers(io.env, requested);
  const available = (name: string): boolean => natives.paths.has(NATIVE_CONTENDERS[name]!.build);
  const contenders = values.allocators === undefined ? requested.filter((name) => !NATIVE_NAMES.includes(name) || available(name)) : requested;
  const external: Record<string, ExternalContender> = {};
  for (const name of contenders.filter((c) => NATIVE_NAMES.includes(c))) {
    const binary = natives.paths.get(NATIVE_CONTENDERS[name]!.build);
    external[name] = binary === undefined ? () => Promise.resolve<BenchReply>({ ok: false, unavailable: true }) : nativeContender(binary, NATIVE_CONTENDERS[name]!.allocator, nativeWorkloads);
  }

  const started = Date.now();
  const progress = io.errIsTerminal ? (line: string): void => io.err(`\r\u001b[2K${line}`) : undefined;
  const cells = await runBenchmarks(cases, { module: CONTENDERS_MODULE, contenders, external, runs, budgetMs: budgetSeconds * 1000, ...(progress === undefined ? {} : { progress }) });
  if (progress !== undefined) io.err("\r\u001b[2K");
  const elapsed = (Date.now() - started) / 1000;

  if (values.json === true) {
    io.out(`${JSON.stringify(benchJson(cases, cells, { runs, budgetSeconds, quick, contenders, elapsed, nativeNotes: natives.notes }), null, 2)}\n`);
    return ExitCode.Ok;
  }
  const table = values.markdown === true ? formatBenchTable(cells, cases, contenders) : textTable(benchTableRows(cells, cases, contenders), 2);
  const nativeShown = contenders.filter((name) => NATIVE_NAMES.includes(name));
  const nativeNote = nativeShown.length === 0 ? "" : `; ${nativeShown.join(", ")}: a C replay of the same file or churn per run, its own process, after an untimed replay in it`;
  const note = `${runs === 1 ? "1 run" : `median of ${runs} runs`} per cell${quick ? " (--quick: smaller workloads)" : ""}, each in a fresh worker after an untimed pass on another allocator (to compile the code) and one on the timed allocator (its pages faulted in)${nativeNote}; allocators alternating; ratios to the first column; budget ${budgetSeconds} s per run; ${elapsed.toFixed(0)} s in all; node ${process.version}`;
  io.out(`${table}\n\n${note}\n${natives.notes.map((line) => `${line}\n`).join("")}${failureNotes(cells)}`);
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
  run: { readonly runs: number; readonly budgetSeconds: number; readonly quick: boolean; readonly contenders: readonly string[]; readonly elapsed: number; readonly nativeNotes: readonly string[] },
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
    nativeNotes: run.nativeNotes,
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
