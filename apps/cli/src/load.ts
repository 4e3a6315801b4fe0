/*
 * Reading the trace a command is given: streamed from the file into typed arrays (with a progress
 * bar on a terminal), every problem turned into one line that names the file and, for a bad line,
 * its number.
 */
import { existsSync } from "node:fs";
import { basename } from "node:path";
import { BUNDLED_TRACES, bundledTracePath, isBundledTrace } from "@tsmalloc/bundled-traces";
import { OP_MEMALIGN, readTrace, type Trace, TraceFormatError, traceLine } from "@tsmalloc/trace";
import { CliError, messageOf } from "./errors.ts";
import type { CliIo } from "./io.ts";
import { ProgressBar } from "./progress.ts";

/**
 * The alignment of every block the MEM domain hands out, in every configuration: pymalloc's
 * `ALIGNMENT`, the system malloc's, and the debug hooks' 16-byte header keeps it. A trace's `m`
 * event asking for no more is a plain `PyMem_Malloc`; a larger one is refused when the trace is read.
 */
export const MEM_ALIGNMENT = 16;

/**
 * The file a command's trace argument names: the path as given when there is such a file, else
 * the bundled trace of that name (`tsmalloc replay py_compileall`), else the path as given.
 */
export function tracePath(given: string): string {
  return !existsSync(given) && isBundledTrace(given) ? bundledTracePath(given) : given;
}

/** A trace read from a file. */
export interface LoadedTrace {
  readonly trace: Trace;
  /** The file read: the path as given, or a bundled trace's file for its name. */
  readonly path: string;
  /** Milliseconds spent reading and parsing. */
  readonly parseMs: number;
}

/** Messages for the file-system errors a user can cause, by `code`. */
const FILE_ERRORS: Readonly<Record<string, string>> = {
  EISDIR: "is a directory",
  EACCES: "permission denied",
  ENOTDIR: "a part of the path is not a directory",
};

/**
 * Reads and parses the trace at `given` (a path, or a bundled trace's name: {@link tracePath}),
 * the first `limit` events of it.
 * @throws CliError (exit 2) when the file cannot be read, is not valid gzip, has a line that is not
 *   an event (`path:LINE: why`), has no events, or asks for an alignment the MEM domain does not give
 */
export async function loadTraceFile(given: string, io: CliIo, limit: number = Infinity): Promise<LoadedTrace> {
  const path = tracePath(given);
  const progress = new ProgressBar(io, `reading ${basename(path)}`);
  const started = performance.now();
  let trace: Trace;
  try {
    trace = await readTrace(path, { limit, onProgress: (done, total) => progress.update(done, total) });
  } catch (error) {
    throw traceError(path, error);
  } finally {
    progress.finish();
  }
  const parseMs = performance.now() - started;
  if (trace.length === 0) throw new CliError(`${path}: the trace has no events`);
  for (let event = 0; event < trace.length; event++) {
    if (trace.op[event] === OP_MEMALIGN && trace.arg[event]! > MEM_ALIGNMENT) {
      throw new CliError(`${path}:${traceLine(trace, event + 1)}: an alignment of ${trace.arg[event]} bytes; the MEM domain aligns blocks to ${MEM_ALIGNMENT} bytes, as PyMem_Malloc does, and has no aligned allocation`);
    }
  }
  return { trace, path, parseMs };
}

function traceError(path: string, error: unknown): CliError {
  if (error instanceof TraceFormatError) return new CliError(`${path}:${error.line}: ${error.reason}`);
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string") {
    const known = FILE_ERRORS[code];
    if (code === "ENOENT") return new CliError(`cannot read ${path}: no such file, nor a bundled trace (${BUNDLED_TRACES.map((t) => t.name).join(", ")})`);
    if (known !== undefined) return new CliError(`cannot read ${path}: ${known}`);
    // zlib's codes: a damaged or cut-off gzip file
    if (code.startsWith("Z_")) return new CliError(`${path}: not a valid gzip file (${messageOf(error)})`);
  }
  return new CliError(`cannot read ${path}: ${messageOf(error)}`);
}
