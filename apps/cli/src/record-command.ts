/*
 * `tsmalloc record [-o FILE] [--follow-forks] -- COMMAND [ARGS...]`: runs a native program with
 * the recorder preloaded (record-shim.ts builds it; c/tsmalloc-record.c is what it does), turns
 * what it records into traces as it comes (record-follower.ts, record-convert.ts), and sums them
 * up on stderr when the program has ended.
 *
 *   tsmalloc record ──spawn, LD_PRELOAD──> COMMAND ──every malloc, free, ...──> DIR/PID.N.rec
 *        │                                                                          │
 *        └── meanwhile: each PID.N.rec ──> DIR/PID.N.trace.gz ─(at the end)─> FILE, and with
 *                                                                  --follow-forks the others beside it
 *
 * Which recording is FILE: the last program the started process was. A process that execs
 * another program (env, nice, a shell's `exec`, pyenv's shims) becomes it, so FILE holds the
 * program you meant; what the process ran before is recorded, said in the summary, and written
 * only with --follow-forks. Children made with fork() are recorded only with --follow-forks, each
 * program they run into a file of its own: STEM.PID.N.trace.gz (N: the programs that process had
 * been before).
 *
 * The command's exit status is the program's (128 + the signal's number when a signal ended it,
 * as a shell reports it), so that `tsmalloc record -- make test && ...` means what it did.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { rename } from "node:fs/promises";
import { constants } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { createTraceFile } from "@tsmalloc/trace";
import { CliError, ExitCode, messageOf, usageError } from "./errors.ts";
import type { CliIo } from "./io.ts";
import { isPythonCommand } from "./python-program.ts";
import { type ConvertedRecording, convertRecording } from "./record-convert.ts";
import { RecordFileError, type RecordHeader, readRecordHeader } from "./record-file.ts";
import { type RecordFileEntry, RecordingFollower } from "./record-follower.ts";
import { glibcVersion, recordUnsupported } from "./record-platform.ts";
import { ensureShim } from "./record-shim.ts";
import { formatRecordSummary, type RecordedRun } from "./record-summary.ts";

/** What the command line asks for. */
export interface RecordLine {
  /** The trace file; null: COMMAND's name with `.trace.gz`, in the working folder. */
  readonly output: string | null;
  readonly followForks: boolean;
  /** The program and its arguments. */
  readonly command: readonly string[];
}

/**
 * Reads `record`'s command line: options first, then the program, after `--` or from the first
 * argument that is not an option (everything from there on is the program's).
 * @throws CliError (exit 2) for an unknown option, `-o` without a file, or no program
 */
export function parseRecordLine(argv: readonly string[]): RecordLine {
  const command = "record";
  let output: string | null = null;
  let followForks = false;
  let at = 0;
  for (; at < argv.length; at++) {
    const arg = argv[at]!;
    if (arg === "--") {
      at++;
      break;
    }
    if (arg === "-o" || arg === "--output") {
      const value = argv[++at];
      if (value === undefined || value === "") throw usageError(command, `${arg} needs a file`);
      output = value;
    } else if (arg.startsWith("--output=")) {
      output = arg.slice("--output=".length);
      if (output === "") throw usageError(command, "--output needs a file");
    } else if (arg === "-f" || arg === "--follow-forks") {
      followForks = true;
    } else if (arg.startsWith("-")) {
      throw usageError(command, `unknown option ${arg}`);
    } else {
      break;
    }
  }
  const program = argv.slice(at);
  if (program.length === 0 || program[0] === "") throw usageError(command, "missing the program to record (tsmalloc record [-o FILE] -- COMMAND [ARGS...])");
  return { output, followForks, command: program };
}

/** The default trace file of a program: `python3.trace.gz` for `python3 app.py`. */
export function defaultOutput(command: string): string {
  return `${basename(command)}.trace.gz`;
}

/** `FILE`'s name for another recording: `out.trace.gz` -> `out.PID.N.trace.gz`. */
export function siblingOutput(output: string, pid: number, image: number): string {
  const name = basename(output);
  const match = /^(.*?)((?:\.trace)?(?:\.gz)?)$/.exec(name)!;
  const stem = match[1] === "" ? name : match[1]!;
  const extension = match[1] === "" ? "" : match[2]!;
  return join(dirname(output), `${stem}.${pid}.${image}${extension === "" ? ".trace.gz" : extension}`);
}

/** `tsmalloc record`. @returns the program's exit status; @throws CliError */
export async function recordCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const line = parseRecordLine(argv);
  const unsupported = recordUnsupported(process.platform, process.platform === "linux" ? glibcVersion() : null);
  if (unsupported !== null) throw new CliError(unsupported);
  const output = resolve(line.output ?? defaultOutput(line.command[0]!));

  const shim = ensureShim(io.env);
  if (shim.built) io.err(`tsmalloc record: built the recorder with ${shim.compiler} into ${shim.path} (once for this version)\n`);
  const env: Record<string, string | undefined> = { ...io.env };
  let pythonMalloc = false;
  if (env["PYTHONMALLOC"] === undefined && isPythonCommand(line.command[0]!, env)) {
    env["PYTHONMALLOC"] = "malloc";
    pythonMalloc = true;
    io.err("tsmalloc record: PYTHONMALLOC=malloc, so that every Python object reaches malloc (pymalloc would serve most of them itself); set PYTHONMALLOC to choose otherwise\n");
  }

  let scratch: string;
  try {
    scratch = mkdtempSync(join(dirname(output), ".tsmalloc-record-"));
  } catch (error) {
    throw new CliError(`record: cannot write beside ${output}: ${messageOf(error)}`, ExitCode.Usage, { cause: error });
  }
  // Ctrl-C reaches the program and the command alike: the command lives on to write the trace.
  // It is ignored until the command returns, not only while the program runs: the program's exit
  // and the signal arrive together, in either order.
  const ignoreInterrupt = (): void => {};
  process.on("SIGINT", ignoreInterrupt);
  try {
    env["LD_PRELOAD"] = env["LD_PRELOAD"] === undefined || env["LD_PRELOAD"] === "" ? shim.path : `${shim.path} ${env["LD_PRELOAD"]}`;
    env["TSMALLOC_RECORD_DIR"] = scratch;
    env["TSMALLOC_RECORD_PARENT"] = String(process.pid);
    if (line.followForks) env["TSMALLOC_RECORD_FORKS"] = "1";
    else delete env["TSMALLOC_RECORD_FORKS"];

    // every file is converted as it is written, into the scratch folder, and moved to its name at the end
    const about: TraceComments = { line, pythonMalloc };
    const follower = new RecordingFollower(scratch, (file, more) => convertFile(file, join(scratch, `${file.pid}.${file.image}.trace.gz`), about, more));
    const started = performance.now();
    let ended: ProgramEnd;
    try {
      ended = await runProgram(line.command, env);
    } catch (error) {
      await follower.end().catch(() => {});
      throw error;
    }
    const runMs = performance.now() - started;
    const converted = await follower.end();

    const files = [...converted.keys()];
    // the started process's last program that got as far as its recorder's header (one killed
    // just as it exec'd leaves a file without one: the program before it is then the last)
    const main = files
      .filter((file) => file.pid === ended.pid && converted.get(file) !== null)
      .reduce<RecordFileEntry | undefined>((last, file) => (last === undefined || file.image > last.image ? file : last), undefined);
    const mainResult = main === undefined ? null : converted.get(main)!;
    if (main === undefined || mainResult === null) {
      throw new CliError(`record: ${line.command[0]} made no call the recorder saw: it did not load it (a statically linked program, or a setuid one, ignores LD_PRELOAD)`, ExitCode.Usage);
    }
    // the headers again: their counters (forks, calls not recorded) are final only now
    const finished = async (result: NonNullable<Converted>): Promise<ConvertedRecording> => ({ ...result.recording, header: await readRecordHeader(result.recording.header.path) });
    const recordings: { readonly recording: ConvertedRecording; readonly path: string }[] = [];
    const earlier: { readonly header: RecordHeader; readonly records: number }[] = [];
    recordings.push({ recording: await finished(mainResult), path: await moved(mainResult, output) });
    for (const file of files) {
      const result = converted.get(file)!;
      if (file === main || result === null) continue;
      if (line.followForks) recordings.push({ recording: await finished(result), path: await moved(result, siblingOutput(output, file.pid, file.image)) });
      // without --follow-forks: what the started process was before its last exec, counted
      else if (file.pid === ended.pid) earlier.push({ header: (await finished(result)).header, records: result.recording.records });
    }
    const run: RecordedRun = {
      command: line.command,
      status: ended.status,
      signal: ended.signal,
      exitCode: ended.exitCode,
      runMs,
      convertMs: performance.now() - started - runMs,
      recordings,
      earlier,
      followForks: line.followForks,
    };
    io.err(formatRecordSummary(run, process.cwd()));
    return ended.exitCode;
  } finally {
    process.off("SIGINT", ignoreInterrupt);
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** A file converted into a trace in the scratch folder; null for a file whose header never came. */
type Converted = { readonly recording: ConvertedRecording; readonly temporary: string } | null;

/** What the trace's first comments say. */
interface TraceComments {
  readonly line: RecordLine;
  readonly pythonMalloc: boolean;
}

/**
 * Converts one file of the recorder into the trace file at `path` as its records come, with
 * comments that say where it came from.
 * @returns null when the file never got a whole header (its process was killed as it started)
 */
async function convertFile(entry: RecordFileEntry, path: string, about: TraceComments, more: () => Promise<boolean>): Promise<Converted> {
  let header: RecordHeader;
  for (;;) {
    try {
      header = await readRecordHeader(entry.path);
      break;
    } catch (error) {
      if (!(error instanceof RecordFileError)) throw error;
      if (!(await more())) return null;
    }
  }
  let file;
  try {
    // gzip's fastest level: four times as fast as its default, for a file a sixth larger
    file = createTraceFile(path, { level: 1 });
  } catch (error) {
    throw new CliError(`record: cannot write ${path}: ${messageOf(error)}`, ExitCode.Usage, { cause: error });
  }
  const comments = [
    `recorded by tsmalloc record from ${header.exe || "?"} (pid ${header.pid}${header.image > 0 ? `, its program ${header.image + 1}` : ""}): ${header.argv.join(" ")}`,
    ...(header.forked ? [`forked from pid ${header.ppid}: frees of the blocks it had before the fork are left out`] : []),
    ...(about.pythonMalloc ? ["PYTHONMALLOC=malloc"] : []),
    `the command: ${about.line.command.join(" ")}`,
  ];
  const recording = await convertRecording(header, file, comments, more);
  const c = recording.counts;
  file.comment(`${c.events} events; left out: ${c.nullReturns + recording.tooLarge} NULL returns, ${c.freeNull} free(NULL), ${c.unknownFrees} frees of blocks never seen allocated`);
  try {
    await file.close();
  } catch (error) {
    throw new CliError(`record: cannot write ${path}: ${messageOf(error)}`, ExitCode.Usage, { cause: error });
  }
  return { recording, temporary: path };
}

/** Moves a converted trace from the scratch folder to `path` (the same file system: a rename). @returns `path` */
async function moved(result: NonNullable<Converted>, path: string): Promise<string> {
  try {
    await rename(result.temporary, path);
  } catch (error) {
    throw new CliError(`record: cannot write ${path}: ${messageOf(error)}`, ExitCode.Usage, { cause: error });
  }
  return path;
}

/** How the program ended. */
interface ProgramEnd {
  readonly pid: number;
  /** Its exit status, or null when a signal ended it. */
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  /** What the command exits with: the status, or 128 + the signal's number. */
  readonly exitCode: number;
}

/**
 * Runs the program with the command's standard streams and waits for it. Ctrl-C reaches the
 * program (the terminal sends it to both) and the command waits for the program to end, then
 * writes what was recorded; SIGTERM and SIGHUP sent to the command are passed on to it.
 * @throws CliError (exit 2) when the program cannot be started
 */
function runProgram(command: readonly string[], env: Readonly<Record<string, string | undefined>>): Promise<ProgramEnd> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command[0]!, command.slice(1), { stdio: "inherit", env: env as NodeJS.ProcessEnv });
    const forward = (signal: NodeJS.Signals): void => void child.kill(signal);
    process.on("SIGTERM", forward);
    process.on("SIGHUP", forward);
    const done = (): void => {
      process.off("SIGTERM", forward);
      process.off("SIGHUP", forward);
    };
    child.on("error", (error: NodeJS.ErrnoException) => {
      done();
      const why = error.code === "ENOENT" ? "no such program" : error.code === "EACCES" ? "permission denied" : messageOf(error);
      reject(new CliError(`record: cannot run ${command[0]}: ${why}`, ExitCode.Usage, { cause: error }));
    });
    child.on("exit", (status, signal) => {
      done();
      const exitCode = status ?? 128 + (signal === null ? 0 : (constants.signals[signal] ?? 0));
      resolvePromise({ pid: child.pid!, status, signal, exitCode });
    });
  });
}
