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

/** The process's own streams and environment. */
export function processIo(): CliIo {
  return {
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
    errIsTerminal: process.stderr.isTTY === true,
    env: process.env,
  };
}
