/*
 * `tsmalloc <command> ...`: finds the command, runs it, and turns what it throws into an exit
 * code: a CliError's message on one line of stderr (exit 1 or 2), anything else as an internal
 * error with its stack (a bug to report).
 */
import { benchCommand } from "./bench-command.ts";
import { demoCommand } from "./demo-command.ts";
import { CliError, ExitCode, usageError } from "./errors.ts";
import { COMMAND_HELP, MAIN_HELP } from "./help.ts";
import type { CliIo } from "./io.ts";
import { recordCommand } from "./record-command.ts";
import { replayCommand, statsCommand } from "./replay-command.ts";
import { VERSION } from "./version.ts";
import { visualizeCommand } from "./visualize-command.ts";
import { wasmCommand } from "./wasm-command.ts";

type Command = (argv: readonly string[], io: CliIo) => Promise<number>;

const COMMANDS: Readonly<Record<string, Command>> = {
  replay: replayCommand,
  stats: statsCommand,
  bench: benchCommand,
  demo: demoCommand,
  visualize: (argv, io) => visualizeCommand(argv, io),
  wasm: wasmCommand,
  record: recordCommand,
  help: helpCommand,
};

async function helpCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const [topic, extra] = argv.filter((arg) => arg !== "--help" && arg !== "-h");
  if (extra !== undefined) throw usageError("help", `unexpected argument "${extra}"`);
  if (topic === undefined) {
    // `tsmalloc help` is the main help; `tsmalloc help --help` is the help command's own
    io.out(argv.length === 0 ? MAIN_HELP : COMMAND_HELP.help!);
    return ExitCode.Ok;
  }
  const text = COMMAND_HELP[topic];
  if (text === undefined) throw usageError("help", `unknown command "${topic}"; the commands are ${Object.keys(COMMANDS).join(", ")}`);
  io.out(text);
  return ExitCode.Ok;
}

/**
 * Runs the command line `argv` (without `node` and the script).
 * @returns the exit code: 0 done, 1 the replay found a fault, 2 bad input, 70 an internal error
 */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  try {
    if (name === undefined) {
      // a bare `tsmalloc` is asking what the command does: the usage in full. Nothing ran, so it
      // is still a usage error, on stderr with exit 2 (as grep's and tar's): a script whose
      // command word went missing fails instead of passing, and stdout stays empty for a pipe.
      io.err(MAIN_HELP);
      return ExitCode.Usage;
    }
    if (name === "--help" || name === "-h") return await helpCommand([], io);
    if (name === "--version") {
      io.out(`${VERSION}\n`);
      return ExitCode.Ok;
    }
    const command = COMMANDS[name];
    if (command === undefined) {
      throw usageError("", name.startsWith("-") ? `unknown option ${name} before the command` : `unknown command "${name}"; the commands are ${Object.keys(COMMANDS).join(", ")}`);
    }
    // `--help` anywhere after a command is that command's help, whatever else is on the line
    // (up to a `--`, after which the arguments are a program's: tsmalloc wasm prog.wasm -- --help)
    const ours = rest.includes("--") ? rest.slice(0, rest.indexOf("--")) : rest;
    if (command !== helpCommand && (ours.includes("--help") || ours.includes("-h"))) {
      io.out(COMMAND_HELP[name]!);
      return ExitCode.Ok;
    }
    return await command(rest, io);
  } catch (error) {
    if (error instanceof CliError) {
      io.err(`tsmalloc: ${error.message}\n${error.details}`);
      return error.exitCode;
    }
    io.err(`tsmalloc: internal error (please report it): ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return INTERNAL_ERROR;
  }
}

/** sysexits' EX_SOFTWARE: the command itself failed. */
const INTERNAL_ERROR = 70;
