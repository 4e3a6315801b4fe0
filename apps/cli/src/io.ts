/** Where the command reads its environment and writes its output: the process, or a test's capture. */
export interface CliIo {
  /** Writes to standard output. */
  out(text: string): void;
  /** Writes to standard error. */
  err(text: string): void;
  /** Whether standard error is a terminal (progress bars are drawn only there). */
  readonly errIsTerminal: boolean;
  /** Environment variables (`TSMALLOC`). */
  readonly env: Readonly<Record<string, string | undefined>>;
}

/**
 * The process's own streams and environment. A reader that goes away (`tsmalloc demo | head -3`)
 * ends the command quietly, as SIGPIPE ends a C program, instead of with an EPIPE stack trace.
 */
export function processIo(): CliIo {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code !== "EPIPE") throw error;
      process.exit(process.exitCode ?? 0);
    });
  }
  return {
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
    errIsTerminal: process.stderr.isTTY === true,
    env: process.env,
  };
}
