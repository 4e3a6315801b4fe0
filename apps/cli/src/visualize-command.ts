/*
 * `tsmalloc visualize`: serves the built visualizer (this package's dist/visualizer/, copied there
 * from apps/visualizer by the build: see page-files.ts) on a local port until Ctrl-C, so that the
 * page can be opened in any browser without a development server.
 */
import { existsSync } from "node:fs";
import { join, relative } from "node:path";
import { parseCommandLine, positionals, wholeNumber } from "./args.ts";
import { CliError, ExitCode, messageOf, usageError } from "./errors.ts";
import type { CliIo } from "./io.ts";
import { PAGE_DIR, pageTraceFiles } from "./page-files.ts";
import { serveDirectory } from "./static-server.ts";

/** The port the page is served on by default (vite's own preview uses 4173). */
export const DEFAULT_PORT = 4178;

/**
 * `tsmalloc visualize [--port N] [--host H]`.
 * @returns exit code 0 once the server is stopped (SIGINT or SIGTERM)
 * @throws CliError (exit 2) for a bad option, a port in use or an address that is not the machine's,
 *   or when the page has not been built
 */
export async function visualizeCommand(argv: readonly string[], io: CliIo, stop: Promise<unknown> = signalled()): Promise<number> {
  const command = "visualize";
  const { values, positionals: given } = parseCommandLine(command, argv, { port: { type: "string" }, host: { type: "string" } });
  positionals(command, given, 0, 0, "");
  const port = values.port === undefined ? DEFAULT_PORT : wholeNumber(command, "--port", values.port as string, 0);
  if (port > 65_535) throw usageError(command, `--port must be at most 65535, got "${values.port as string}"`);
  const host = (values.host as string | undefined) ?? "127.0.0.1";
  if (host === "") throw usageError(command, "--host needs an address");
  if (!existsSync(join(PAGE_DIR, "index.html"))) {
    throw new CliError(`the visualizer is not built (no ${join(relative(process.cwd(), PAGE_DIR) || ".", "index.html")}): run \`pnpm turbo run build --filter=@tsmalloc/cli...\`, or \`npm start\`, first`);
  }
  let served;
  try {
    served = await serveDirectory(PAGE_DIR, host, port, pageTraceFiles(PAGE_DIR));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE") throw new CliError(`${command}: port ${port} on ${host} is in use; choose another with --port`, ExitCode.Usage, { cause: error });
    if (code === "EADDRNOTAVAIL" || code === "ENOTFOUND" || code === "EAI_AGAIN") throw new CliError(`${command}: --host ${host} is not an address of this machine`, ExitCode.Usage, { cause: error });
    if (code === "EACCES") throw new CliError(`${command}: not allowed to listen on ${host}:${port} (ports below 1024 need privileges)`, ExitCode.Usage, { cause: error });
    throw new CliError(`${command}: cannot listen on ${host}:${port}: ${messageOf(error)}`, ExitCode.Usage, { cause: error });
  }
  io.out(`tsmalloc visualizer: ${served.url}\n`);
  io.out("Open it in a browser: the arena map, the replay controls, the statistics and the debug hooks' panel.\n");
  io.out("Ctrl-C stops the server.\n");
  await stop;
  await served.close();
  return ExitCode.Ok;
}

/** Resolves on the first SIGINT or SIGTERM. */
function signalled(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const done = (signal: NodeJS.Signals): void => {
      process.off("SIGINT", done);
      process.off("SIGTERM", done);
      resolve(signal);
    };
    process.once("SIGINT", done);
    process.once("SIGTERM", done);
  });
}
