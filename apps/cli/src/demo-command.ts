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
import { textTable, wrapText } from "./format.ts";
import type { CliIo } from "./io.ts";
import { loadTraceFile } from "./load.ts";
import { footprintRatio, formatSummary, statisticsNote } from "./report.ts";
import { replayTrace, type ReplaySettings } from "./replay-run.ts";

/** Timed runs of each configuration in the comparison. */
const COMPARISON_RUNS = 3;

/** Columns of the demo's sentences. */
const WIDTH = 100;

/**
 * How `mine` compares with `theirs` in words, the larger over the smaller: `1.19× faster` (their
 * time over mine), `2.25× slower`, `1.02× larger`; `about the same` within half a percent; `-`
 * when either is missing or 0.
 */
export function compared(mine: number | null, theirs: number | null, more: string, less: string): string {
  if (mine === null || theirs === null || mine === 0 || theirs === 0) return "-";
  const ratio = mine / theirs;
  if (formatRatio(ratio) === "1.00×") return "about the same";
  return ratio > 1 ? `${formatRatio(ratio)} ${more}` : `${formatRatio(1 / ratio)} ${less}`;
}

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
  // one replay for the figures; the time is measured below, the same way for both configurations
  const settings: ReplaySettings = { config, module: null, verify: false, runs: 1, statsAt: "peak" };
  const outcome = replayTrace(loaded.trace, profile, settings);
  io.out(formatSummary(loaded, settings, outcome, { time: false }));
  const note = statisticsNote(outcome);
  io.out(`\nStatistics at the peak of live bytes (after event ${formatCount(outcome.profile.peakEvent)}), as sys._debugmallocstats() prints them.\n`);
  io.out(`${note === "" ? "" : `${wrapText(note, WIDTH)}\n`}\n`);
  io.out(outcome.statistics.text);

  const otherOutcome = replayTrace(loaded.trace, profile, { ...settings, config: other });
  const cells = await runBenchmarks([{ name: "py_compileall", workload: { kind: "replay", trace: loaded.trace }, warmup: 1 }], {
    module: CONTENDERS_MODULE,
    contenders: [config, other],
    runs: COMPARISON_RUNS,
    budgetMs: 20_000,
  });
  const time = (name: string): number | null => cells.find((c) => c.contender === name)?.median ?? null;
  const mine = time(config);
  const theirs = time(other);
  const shown = (ns: number | null): string => (ns === null ? "failed" : formatNanoseconds(ns));
  io.out(
    `\n${wrapText(`Compared with ${other} on the same trace. The time is the median of ${COMPARISON_RUNS} runs of each, in fresh workers after an untimed replay that compiles the code, the two taking turns: the only time the demo gives, so that both are measured the same way.`, WIDTH)}\n\n`,
  );
  io.out(
    `${textTable(
      [
        ["", config, other, `${config} against ${other}`],
        ["ns/event", shown(mine), shown(theirs), compared(mine, theirs, "slower", "faster")],
        ["footprint at peak", formatBytes(outcome.atPeak.footprint), formatBytes(otherOutcome.atPeak.footprint), compared(outcome.atPeak.footprint, otherOutcome.atPeak.footprint, "larger", "smaller")],
        ["footprint / live bytes", formatRatio(footprintRatio(outcome)), formatRatio(footprintRatio(otherOutcome)), ""],
      ],
      1,
    )}\n`,
  );
  io.out("\nFor reference, a native C replay of this trace (tsmalloc bench's glibc and mimalloc columns, on a\n");
  io.out("warm heap) takes about 27 ns/event with glibc's malloc and 13 with mimalloc on this kind of\n");
  io.out("machine. More: tsmalloc replay --help, tsmalloc bench --help.\n");
  return ExitCode.Ok;
}
