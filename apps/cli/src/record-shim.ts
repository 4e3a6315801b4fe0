/*
 * The recorder's shared object: c/tsmalloc-record.c (shipped as source with this package) built
 * with the system's C compiler on first use, into the cache folder (c-build.ts):
 *
 *   $XDG_CACHE_HOME/tsmalloc/record-3f2a9c0d1e4b5a6f-x64.so     (~/.cache/tsmalloc/... without XDG_CACHE_HOME)
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildCached, cacheFolder, cachedName } from "./c-build.ts";
import { CliError, ExitCode } from "./errors.ts";

export { cacheFolder } from "./c-build.ts";

/** The recorder's C source, beside src/ and dist/ in this package. */
export const SHIM_SOURCE: string = fileURLToPath(new URL("../c/tsmalloc-record.c", import.meta.url));

/** The object's name for this source: its hash and the architecture. */
export function shimName(source: string): string {
  return cachedName("record", source, ".so");
}

/** The built recorder, and whether this call built it. */
export interface Shim {
  readonly path: string;
  readonly built: boolean;
  /** The compiler that built it (null when it was in the cache already). */
  readonly compiler: string | null;
}

/**
 * The path of the recorder built from {@link SHIM_SOURCE}: from the cache, or built now.
 * @throws CliError (exit 2) when there is no C compiler, the compiler fails, or the cache folder
 *   cannot be written or has a space or colon in its path (LD_PRELOAD separates paths by those)
 */
export function ensureShim(env: Readonly<Record<string, string | undefined>>): Shim {
  const source = readFileSync(SHIM_SOURCE, "utf8");
  const folder = cacheFolder(env);
  const name = shimName(source);
  if (/[\s:]/.test(join(folder, name))) throw new CliError(`record: the recorder's cache folder ${folder} has a space or a colon in its path, which LD_PRELOAD cannot take: set XDG_CACHE_HOME to another folder`);
  const result = buildCached(env, { command: "record", what: "the recorder", sourcePath: SHIM_SOURCE, source, name, flags: ["-O2", "-fPIC", "-shared"], libraries: ["-ldl", "-pthread"] });
  if (!result.ok) throw new CliError(result.message, ExitCode.Usage, result.cause === undefined ? {} : { cause: result.cause });
  return { path: result.path, built: result.built, compiler: result.compiler };
}
