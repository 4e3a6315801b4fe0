/*
 * `tsmalloc demo`, the main job of `npm start`: the bundled py_compileall trace (a Python
 * interpreter's own allocations, the work pymalloc exists for) replayed under the configuration
 * from TSMALLOC, its summary and pymalloc's statistics at the trace's peak, then the same trace
 * under malloc beside it: time (fresh workers, alternating) and footprint.
 */
import { bundledTracePath } from "@tsmalloc/bundled-traces";
import { formatBytes, formatCount, formatNanoseconds, formatRatio, traceProfile } from "@tsmalloc/trace";
import { runBenchmarks } from "@tsmalloc/trace/bench";
import { allocatorConfig, parseCommandLine, positionals } from "./args.ts";
import { CONTENDERS_MODULE } from "./bench-command.ts";
import { ExitCode } from "./errors.ts";
import { textTable } from "./format.ts";
import type { CliIo } from "./io.ts";
import { loadTraceFile } from "./load.ts";
import { footprintRatio, formatSummary } from "./report.ts";
import { replayTrace, type ReplaySettings } from "./replay-run.ts";

/** Timed runs of each configuration in the comparison. */
const COMPARISON_RUNS = 3;

/** `tsmalloc demo`. @returns the exit code; @throws CliError */
export async function demoCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const command = "demo";
  const { values, positionals: given } = parseCommandLine(command, argv, { allocator: { type: "string" } });
  positionals(command, given, 0, 0, "");
  const config = allocatorConfig(command, values.allocator as string | undefined, io.env);
  const other = config === "malloc" ? "default" : "malloc";

  io.out("tsmalloc demo: CPython's allocators on a real program's allocations\n\n");
  io.out("The bundled trace py_compileall is every malloc, calloc, realloc and free that\n");
  io.out("`python3 -m compileall` made while compiling CPython's json, email and http packages\n");
  io.out("(recorded with PYTHONMALLOC=malloc, so that each object allocation reached malloc).\n");
  io.out(`It is replayed here through the MEM domain, as PyMem_Malloc would serve it, under TSMALLOC=${config}.\n\n`);

  const loaded = await loadTraceFile(bundledTracePath("py_compileall"), io);
  const profile = traceProfile(loaded.trace);
  const settings: ReplaySettings = { config, module: null, verify: false, runs: 3, statsAt: "peak" };
  const outcome = replayTrace(loaded.trace, profile, settings);
  io.out(formatSummary(loaded, settings, outcome));
  io.out(`\nStatistics at the peak of live bytes (after event ${formatCount(outcome.profile.peakEvent)}), as sys._debugmallocstats() prints them:\n\n`);
  io.out(outcome.statistics.text);

  const otherOutcome = replayTrace(loaded.trace, profile, { ...settings, config: other, runs: 1 });
  const cells = await runBenchmarks([{ name: "py_compileall", workload: { kind: "replay", trace: loaded.trace }, warmup: 1 }], {
    module: CONTENDERS_MODULE,
    contenders: [config, other],
    runs: COMPARISON_RUNS,
    budgetMs: 20_000,
  });
  const time = (name: string): number | null => cells.find((c) => c.contender === name)?.median ?? null;
  const mine = time(config);
  const theirs = time(other);
  const ratio = (a: number | null, b: number | null): string => formatRatio(a === null || b === null || b === 0 ? null : a / b);
  const shown = (ns: number | null): string => (ns === null ? "failed" : formatNanoseconds(ns));
  io.out(`\nCompared with ${other} on the same trace (time: median of ${COMPARISON_RUNS} runs each, in fresh\nworkers after an untimed replay to compile the code, alternating):\n\n`);
  io.out(
    `${textTable(
      [
        ["", config, other, `${other} / ${config}`],
        ["ns/event", shown(mine), shown(theirs), ratio(theirs, mine)],
        ["footprint at peak", formatBytes(outcome.atPeak.footprint), formatBytes(otherOutcome.atPeak.footprint), ratio(otherOutcome.atPeak.footprint, outcome.atPeak.footprint)],
        ["footprint / live bytes", formatRatio(footprintRatio(outcome)), formatRatio(footprintRatio(otherOutcome)), ""],
      ],
      1,
    )}\n`,
  );
  io.out("\nFor reference, native C replays of this trace take about 30 ns/event with mimalloc and 49 with\n");
  io.out("glibc's malloc on this kind of machine. More: tsmalloc replay --help, tsmalloc bench --help.\n");
  return ExitCode.Ok;
}
