/*
 * `tsmalloc wasm <prog.wasm> [options] [-- ARGS...]`: runs a WASI program built with
 * @tsmalloc/wasm's shim on a tsmalloc heap, under node:wasi, with the command's standard streams.
 * The program's malloc family is served by the MEM domain of the configuration; under a `_debug`
 * configuration a heap overflow or a bad free in the C code stops it with CPython's report, and
 * the command exits 134, as a C program that abort()s does (CPython's fatal error, glibc's
 * "double free detected"). With --record FILE the program's calls on the MEM domain are recorded
 * (@tsmalloc/trace's recordTrace) into a trace that `tsmalloc replay FILE --verify` replays; when
 * the allocator stops the program, the trace holds the calls before the one it refused. With
 * --tracemalloc N (or TSMALLOC_TRACEMALLOC=N) @tsmalloc/tracemalloc traces the program's runtime
 * with N frames, and the debug hooks' report ends with where the damaged block was allocated:
 * the C functions, by the module's name section.
 */
import { readFileSync } from "node:fs";
import { basename, resolve } from "node:path";
import { isTsmallocError } from "@tsmalloc/memory";
import { Domain } from "@tsmalloc/registry";
import { createTraceFile, formatCount, formatCounted, recordTrace, type TraceFileWriter, type TraceRecording } from "@tsmalloc/trace";
import { instantiate, type TsmallocInstance } from "@tsmalloc/wasm";
import { allocatorConfig, type OptionSpec, parseCommandLine, positionals } from "./args.ts";
import { CliError, ExitCode, messageOf, usageError } from "./errors.ts";
import type { CliIo } from "./io.ts";
import { heapStatistics } from "./replay-run.ts";

/** The exit status when the allocator or a trap stopped the program: 128 + SIGABRT, as abort() gives. */
export const PROGRAM_ABORTED = 134;

const OPTIONS: OptionSpec = {
  allocator: { type: "string" },
  stats: { type: "boolean" },
  dir: { type: "string", multiple: true },
  env: { type: "string", multiple: true },
  record: { type: "string" },
  tracemalloc: { type: "string" },
};

/** The variable that traces from the start (@tsmalloc/tracemalloc's, CPython's PYTHONTRACEMALLOC). */
const TRACEMALLOC_ENV = "TSMALLOC_TRACEMALLOC";
/** The most frames tracemalloc keeps per traceback (its MAX_NFRAME, CPython's). */
const MAX_TRACEMALLOC_FRAMES = 65535;

/** A number of frames: an integer from 0 to 65535. @throws CliError (exit 2) for anything else */
function frameCount(command: string, source: string, given: string): number {
  if (!/^[0-9]{1,5}$/.test(given) || Number(given) > MAX_TRACEMALLOC_FRAMES) {
    throw usageError(command, `${source} needs a number of frames from 0 (off) to ${MAX_TRACEMALLOC_FRAMES}, got "${given}"`);
  }
  return Number(given);
}

/**
 * The frames to trace the program's runtime with: --tracemalloc N, else TSMALLOC_TRACEMALLOC
 * (read as @tsmalloc/tracemalloc reads it for the default runtime); 0 is off. A bad
 * TSMALLOC_TRACEMALLOC is refused even with the option, as the package refuses it when imported.
 * @throws CliError (exit 2) for anything but an integer from 0 to 65535
 */
function tracemallocFrames(command: string, option: string | undefined, env: Readonly<Record<string, string | undefined>>): number {
  const variable = env[TRACEMALLOC_ENV];
  const fromEnv = variable === undefined || variable === "" ? 0 : frameCount(command, TRACEMALLOC_ENV, variable);
  return option === undefined ? fromEnv : frameCount(command, "--tracemalloc", option);
}

/** `NAME=VALUE` options as an environment. @throws CliError (exit 2) for one without `=` */
function environment(command: string, given: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of given) {
    const at = entry.indexOf("=");
    if (at <= 0) throw usageError(command, `--env needs NAME=VALUE, got "${entry}"`);
    env[entry.slice(0, at)] = entry.slice(at + 1);
  }
  return env;
}

/**
 * Node prints an ExperimentalWarning when node:wasi is first loaded; the command runs a WASI
 * program on purpose, so the warning is left out (it is Node's to give, not the program's output).
 */
async function withoutWasiWarning<T>(load: () => Promise<T>): Promise<T> {
  const emitWarning = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]): void => {
    if (String(warning).startsWith("WASI is an experimental feature")) return;
    (emitWarning as (...args: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  try {
    return await load();
  } finally {
    process.emitWarning = emitWarning;
  }
}

/** `tsmalloc wasm`. @returns the program's exit status, or 134 when it was stopped; @throws CliError */
export async function wasmCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const command = "wasm";
  const separator = argv.indexOf("--");
  const ours = separator < 0 ? argv : argv.slice(0, separator);
  const programArgs = separator < 0 ? [] : argv.slice(separator + 1);
  const { values, positionals: given } = parseCommandLine(command, ours, OPTIONS);
  const [path] = positionals(command, given, 1, 1, "the program (tsmalloc wasm <prog.wasm> [-- ARGS...])");
  const config = allocatorConfig(command, values.allocator as string | undefined, io.env);
  const env = environment(command, (values.env as string[] | undefined) ?? []);
  const record = values.record as string | undefined;
  if (record === "") throw usageError(command, "--record needs a file");
  const nframe = tracemallocFrames(command, values.tracemalloc as string | undefined, io.env);
  const preopens: Record<string, string> = {};
  for (const dir of (values.dir as string[] | undefined) ?? []) preopens[dir] = resolve(dir);

  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path!);
  } catch (error) {
    throw new CliError(`wasm: cannot read ${path}: ${messageOf(error)}`, ExitCode.Usage, { cause: error });
  }
  let instance: TsmallocInstance;
  try {
    instance = await withoutWasiWarning(() =>
      instantiate(bytes, {
        allocator: config,
        runtimeOptions: { stats: (io.env["TSMALLOCSTATS"] ?? "") !== "", statsOutput: (text) => io.err(text) },
        wasi: { args: [basename(path!), ...programArgs], env, preopens, stdin: 0, stdout: 1, stderr: 2 },
      }),
    );
  } catch (error) {
    if (isTsmallocError(error)) throw new CliError(`wasm: ${path}: ${error.message}`, ExitCode.Usage, { cause: error });
    throw error;
  }

  if (nframe > 0) {
    // loaded only when asked for: importing it reads TSMALLOC_TRACEMALLOC for the default runtime
    const { createTracemalloc } = await import("@tsmalloc/tracemalloc");
    createTracemalloc(instance.runtime).start(nframe);
  }

  let trace: { readonly file: TraceFileWriter; readonly recording: TraceRecording } | null = null;
  if (record !== undefined) {
    let file: TraceFileWriter;
    try {
      file = createTraceFile(record);
    } catch (error) {
      instance.runtime.close();
      throw new CliError(`wasm: cannot write ${record}: ${messageOf(error)}`, ExitCode.Usage, { cause: error });
    }
    file.comment(`recorded by tsmalloc wasm from ${basename(path!)}${programArgs.length > 0 ? ` ${programArgs.join(" ")}` : ""} under "${config}"`);
    trace = { file, recording: recordTrace(instance.runtime, Domain.MEM, { sink: file }) };
  }

  let status: number;
  try {
    status = instance.start();
  } catch (error) {
    // the allocator's typed error (a debug hook's report, a free of what is not a block) or a trap
    const report = (error as { report?: unknown }).report;
    const what = isTsmallocError(error) ? `the allocator stopped the program: ${error.message}` : `the program trapped: ${messageOf(error)}`;
    io.err(`tsmalloc: ${what}\n${typeof report === "string" ? `\n${report}` : ""}`);
    status = PROGRAM_ABORTED;
  }
  if (trace !== null) {
    const { counts } = trace.recording.stop();
    try {
      await trace.file.close();
    } catch (error) {
      instance.runtime.close();
      throw new CliError(`wasm: cannot write ${record}: ${messageOf(error)}`, ExitCode.Usage, { cause: error });
    }
    const left = [
      [counts.freeNull, "free(NULL)"],
      [counts.nullReturns, "NULL returns"],
    ] as const;
    const leftOut = left.filter(([n]) => n > 0).map(([n, what]) => `${formatCount(n)} ${what}`).join(", ") || "nothing";
    io.err(`tsmalloc: recorded ${formatCounted(counts.events, "event")} of ${basename(path!)} on the MEM domain into ${record} (left out: ${leftOut}); replay it: tsmalloc replay ${record} --verify\n`);
  }
  instance.runtime.close();
  if (values.stats === true) {
    io.err(`\nstatistics after the program (${basename(path!)}, "${config}", exit status ${status}):\n\n${heapStatistics(instance.runtime)}`);
  }
  return status;
}
