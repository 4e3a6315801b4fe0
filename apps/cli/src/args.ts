/*
 * The command line, read with node:util's parseArgs (strict: an unknown option is an error), and
 * the checks of what the options say. Every problem is a usage error (exit 2) naming the option.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { isTsmallocError } from "@tsmalloc/memory";
import { type AllocatorConfig, parseAllocatorConfig, TSMALLOC_ENV } from "@tsmalloc/registry";
import { messageOf, usageError } from "./errors.ts";
import type { StatsPoint } from "./replay-run.ts";

/** The options of one command, in parseArgs' terms. */
export type OptionSpec = NonNullable<ParseArgsConfig["options"]>;

/** What parseArgs read: option values by name, and the positional arguments. */
export interface ParsedLine {
  readonly values: Readonly<Record<string, string | boolean | undefined>>;
  readonly positionals: readonly string[];
}

/**
 * Reads `argv` against `options` (`--help` never gets here: {@link run} answers it first). A value
 * that looks like a negative number is the value of the option before it (`--limit -5`), so that
 * the option's own check says what is wrong with it.
 * @throws CliError (exit 2) for an unknown option, a missing option value, or a value given to a flag
 */
export function parseCommandLine(command: string, argv: readonly string[], options: OptionSpec): ParsedLine {
  try {
    const { values, positionals } = parseArgs({
      args: attachNegativeValues(argv, options),
      options,
      allowPositionals: true,
      strict: true,
    });
    return { values: values as ParsedLine["values"], positionals };
  } catch (error) {
    throw usageError(command, describeParseError(error));
  }
}

/**
 * `--name -5` as `--name=-5` when `--name` takes a value (up to a `--`): parseArgs would read
 * `-5` as an option and say that `--name` has no value.
 */
function attachNegativeValues(argv: readonly string[], options: OptionSpec): string[] {
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") return [...args, ...argv.slice(i)];
    const next = argv[i + 1];
    if (arg.startsWith("--") && options[arg.slice(2)]?.type === "string" && next !== undefined && /^-\.?\d/.test(next)) {
      args.push(`${arg}=${next}`);
      i++;
    } else {
      args.push(arg);
    }
  }
  return args;
}

/** parseArgs' messages, shortened to what went wrong. */
function describeParseError(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const message = messageOf(error);
  const option = /'(-[^']*?)'/.exec(message)?.[1]?.split(" ")[0] ?? "";
  switch (code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return `unknown option ${option}`;
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      return message.includes("does not take an argument") ? `option ${option} takes no value` : `option ${option} needs a value`;
    default:
      return message;
  }
}

/**
 * A whole number of at least `min`, from an option's text.
 * @throws CliError (exit 2) for anything else (`"1.5"`, `"-3"`, `"ten"`, `""`)
 */
export function wholeNumber(command: string, option: string, text: string, min: number): number {
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value < min) throw usageError(command, `${option} must be a whole number of at least ${min}, got "${text}"`);
  return value;
}

/**
 * A positive number of seconds, from an option's text.
 * @throws CliError (exit 2) for anything that is not a finite number above 0
 */
export function seconds(command: string, option: string, text: string): number {
  const value = /^\d+(\.\d+)?$|^\.\d+$/.test(text) ? Number(text) : NaN;
  if (!(value > 0) || !Number.isFinite(value)) throw usageError(command, `${option} must be a positive number of seconds, got "${text}"`);
  return value;
}

/**
 * The configuration to use: `--allocator NAME` when given, else `TSMALLOC`, else `default`.
 * @throws CliError (exit 2) naming where an unknown name came from
 */
export function allocatorConfig(command: string, option: string | undefined, env: Readonly<Record<string, string | undefined>>): AllocatorConfig {
  // an empty TSMALLOC means default, as an empty PYTHONMALLOC does; an empty --allocator is a slip
  if (option === "") throw usageError(command, "--allocator needs a name");
  try {
    return option === undefined ? parseAllocatorConfig(env[TSMALLOC_ENV], TSMALLOC_ENV) : parseAllocatorConfig(option, "--allocator");
  } catch (error) {
    if (isTsmallocError(error)) throw usageError(command, error.message);
    throw error;
  }
}

/**
 * `--at end|peak`.
 * @throws CliError (exit 2) for another value
 */
export function statsPoint(command: string, text: string | undefined): StatsPoint {
  if (text === undefined || text === "end") return "end";
  if (text === "peak") return "peak";
  throw usageError(command, `--at must be "end" or "peak", got "${text}"`);
}

/**
 * Between `min` and `max` positional arguments (`what` names them, for the message).
 * @throws CliError (exit 2) for fewer or more
 */
export function positionals(command: string, given: readonly string[], min: number, max: number, what: string): readonly string[] {
  if (given.length < min) throw usageError(command, `missing ${what}`);
  if (given.length > max) throw usageError(command, `unexpected argument "${given[max]}"`);
  return given;
}
