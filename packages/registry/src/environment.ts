import { parseAllocatorConfig } from "./config-name.ts";
import { createRuntime, type Runtime, type RuntimeOptions } from "./runtime.ts";

/** The variables a runtime reads from the environment: name to value (`process.env`'s shape). */
export type Environment = Readonly<Record<string, string | undefined>>;

/** The environment variable that chooses the configuration (CPython's `PYTHONMALLOC`). */
export const TSMALLOC_ENV = "TSMALLOC";
/** The environment variable that turns statistics on (CPython's `PYTHONMALLOCSTATS`). */
export const TSMALLOCSTATS_ENV = "TSMALLOCSTATS";

interface ProcessLike {
  readonly env?: Environment;
}

/** `process.env` where there is a process (Node, Deno, Bun), else an empty environment. */
export function processEnvironment(): Environment {
  return (globalThis as { process?: ProcessLike }).process?.env ?? {};
}

/**
 * Creates a runtime configured from the environment, as CPython reads `PYTHONMALLOC` and
 * `PYTHONMALLOCSTATS`: `TSMALLOC` chooses the configuration (unset or empty: `default`), and a
 * non-empty `TSMALLOCSTATS` prints pymalloc's statistics to stderr each time a new arena is
 * created and when the runtime is closed.
 *
 * @param env where to read the variables; default `process.env` (empty where there is no process)
 * @param options the other options of {@link createRuntime}
 * @throws {@link TsmallocError} `ERR_TSMALLOC_UNKNOWN_ALLOCATOR` for an unknown `TSMALLOC`, with
 *   the message `TSMALLOC: unknown allocator "<value>"; expected one of default, debug, malloc,
 *   malloc_debug, pymalloc, pymalloc_debug`; otherwise as {@link createRuntime}
 */
export function createRuntimeFromEnv(
  env: Environment = processEnvironment(),
  options: Omit<RuntimeOptions, "allocator" | "stats"> = {},
): Runtime {
  const allocator = parseAllocatorConfig(env[TSMALLOC_ENV], TSMALLOC_ENV);
  const stats = (env[TSMALLOCSTATS_ENV] ?? "") !== "";
  return createRuntime({ ...options, allocator, stats });
}
