/*
 * `tsmalloc replay <trace>` and `tsmalloc stats [trace]`: read the trace, replay it through the
 * MEM domain of the configuration asked for, print the summary or the statistics.
 */
import { bundledTracePath } from "@tsmalloc/bundled-traces";
import { traceProfile } from "@tsmalloc/trace";
import { allocatorConfig, type OptionSpec, parseCommandLine, positionals, statsPoint, wholeNumber } from "./args.ts";
import { loadAllocatorModule } from "./allocator-module.ts";
import { ExitCode } from "./errors.ts";
import type { CliIo } from "./io.ts";
import { loadTraceFile } from "./load.ts";
import { wrapText } from "./format.ts";
import { formatSummary, statisticsJson, statisticsNote, summaryJson } from "./report.ts";
import { replayTrace, type ReplaySettings } from "./replay-run.ts";

/**
 * Replays `tsmalloc replay` times without `--runs` (one with `--verify`): the first run in a
 * process also pays for compiling the code, the median of three does not.
 */
const DEFAULT_RUNS = 3;

const SHARED_OPTIONS: OptionSpec = {
  allocator: { type: "string" },
  module: { type: "string" },
  limit: { type: "string" },
  at: { type: "string" },
  json: { type: "boolean" },
};

const REPLAY_OPTIONS: OptionSpec = {
  ...SHARED_OPTIONS,
  verify: { type: "boolean" },
  stats: { type: "boolean" },
  runs: { type: "string" },
};

/** `tsmalloc replay`. @returns the exit code; @throws CliError */
export async function replayCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const command = "replay";
  const { values, positionals: given } = parseCommandLine(command, argv, REPLAY_OPTIONS);
  const [path] = positionals(command, given, 1, 1, "the trace file (tsmalloc replay <trace>)");
  const verify = values.verify === true;
  const runs = values.runs === undefined ? (verify ? 1 : DEFAULT_RUNS) : wholeNumber(command, "--runs", values.runs as string, 1);
  const limit = limitOf(command, values);
  const settings = await settingsOf(command, values, io, { verify, runs });
  const loaded = await loadTraceFile(path!, io, limit);
  const outcome = replayTrace(loaded.trace, traceProfile(loaded.trace), settings);
  if (values.json === true) {
    io.out(`${JSON.stringify(summaryJson(loaded, settings, outcome, values.stats === true), null, 2)}\n`);
    return ExitCode.Ok;
  }
  io.out(formatSummary(loaded, settings, outcome));
  if (values.stats === true) {
    const note = statisticsNote(outcome);
    io.out(`\nstatistics at the ${settings.statsAt === "end" ? "end of the trace" : "peak of live bytes"}:\n${note === "" ? "" : `${wrapText(note, 100)}\n`}\n${outcome.statistics.text}`);
  }
  return ExitCode.Ok;
}

/** `tsmalloc stats`. @returns the exit code; @throws CliError */
export async function statsCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const command = "stats";
  const { values, positionals: given } = parseCommandLine(command, argv, SHARED_OPTIONS);
  const [path = bundledTracePath("py_compileall")] = positionals(command, given, 0, 1, "");
  const limit = limitOf(command, values);
  const settings = await settingsOf(command, values, io, { verify: false, runs: 1 });
  const loaded = await loadTraceFile(path, io, limit);
  const outcome = replayTrace(loaded.trace, traceProfile(loaded.trace), settings);
  if (values.json === true) {
    io.out(`${JSON.stringify({ trace: loaded.trace.name, events: loaded.trace.length, allocator: settings.config, statisticsAt: settings.statsAt, ...statisticsJson(outcome) }, null, 2)}\n`);
  } else {
    io.out(outcome.statistics.text);
  }
  return ExitCode.Ok;
}

async function settingsOf(
  command: string,
  values: Readonly<Record<string, string | boolean | undefined>>,
  io: CliIo,
  rest: Pick<ReplaySettings, "verify" | "runs">,
): Promise<ReplaySettings> {
  const config = allocatorConfig(command, values.allocator as string | undefined, io.env);
  const statsAt = statsPoint(command, values.at as string | undefined);
  const module = values.module === undefined ? null : await loadAllocatorModule(values.module as string);
  return { config, module, statsAt, ...rest };
}

function limitOf(command: string, values: Readonly<Record<string, string | boolean | undefined>>): number {
  return values.limit === undefined ? Infinity : wholeNumber(command, "--limit", values.limit as string, 1);
}
