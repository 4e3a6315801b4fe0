/*
 * How the command ends. Every expected failure is a CliError carrying its exit code; main prints
 * its message as one line on stderr (no stack trace) and exits with the code.
 */

/** Exit codes: 0 done; 1 the replay found a fault (verification, or the allocator threw); 2 bad input. */
export const ExitCode = {
  Ok: 0,
  ReplayFailed: 1,
  Usage: 2,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * An expected failure: its message (one line) is printed after `tsmalloc: `, then its `details`
 * as they are (a debug hook's corruption report, in CPython's format).
 */
export class CliError extends Error {
  override readonly name = "CliError";
  readonly exitCode: ExitCode;
  /** Printed after the message's line; "" for none. Ends with a newline when not empty. */
  readonly details: string;
  constructor(message: string, exitCode: ExitCode = ExitCode.Usage, options?: ErrorOptions & { details?: string }) {
    super(message, options);
    this.exitCode = exitCode;
    this.details = options?.details ?? "";
  }
}

/** A bad command line: the message ends by pointing at the command's help. */
export function usageError(command: string, why: string): CliError {
  const help = command === "" ? "tsmalloc --help" : `tsmalloc ${command} --help`;
  return new CliError(`${command === "" ? "" : `${command}: `}${why} (see ${help})`);
}

/** The message of anything thrown. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
