/*
 * The recorder's shared object: c/tsmalloc-record.c (shipped as source with this package) built
 * with the system's C compiler on first use, into a cache folder, under a name made of the
 * source's hash and the machine's architecture, so that a new version of the source is built
 * again and the old object is never used for it:
 *
 *   $XDG_CACHE_HOME/tsmalloc/record-3f2a9c0d1e4b5a6f-x64.so     (~/.cache/tsmalloc/... without XDG_CACHE_HOME)
 *
 * The compiler is $CC when it is set (words: `ccache gcc` works), else the first of cc, gcc and
 * clang found. It writes to a temporary name that is renamed at the end, so that two commands
 * building at once, or one interrupted, never leave a half-written object under the real name.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CliError, ExitCode, messageOf } from "./errors.ts";

/** The recorder's C source, beside src/ and dist/ in this package. */
export const SHIM_SOURCE: string = fileURLToPath(new URL("../c/tsmalloc-record.c", import.meta.url));

/** The compilers tried, in order, when CC is not set. */
const COMPILERS: readonly string[] = ["cc", "gcc", "clang"];

/** The folder of built recorders: $XDG_CACHE_HOME/tsmalloc, else ~/.cache/tsmalloc. */
export function cacheFolder(env: Readonly<Record<string, string | undefined>>): string {
  const xdg = env["XDG_CACHE_HOME"];
  // the XDG rule: a relative path in the variable is to be ignored
  return join(xdg !== undefined && isAbsolute(xdg) ? xdg : join(env["HOME"] ?? homedir(), ".cache"), "tsmalloc");
}

/** The object's name for this source: its hash and the architecture. */
export function shimName(source: string): string {
  return `record-${createHash("sha256").update(source).digest("hex").slice(0, 16)}-${process.arch}.so`;
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
  const path = join(folder, shimName(source));
  if (/[\s:]/.test(path)) throw new CliError(`record: the recorder's cache folder ${folder} has a space or a colon in its path, which LD_PRELOAD cannot take: set XDG_CACHE_HOME to another folder`);
  if (existsSync(path)) return { path, built: false, compiler: null };
  try {
    mkdirSync(folder, { recursive: true });
  } catch (error) {
    throw new CliError(`record: cannot create the recorder's cache folder ${folder}: ${messageOf(error)} (set XDG_CACHE_HOME to another folder)`, ExitCode.Usage, { cause: error });
  }
  const temporary = `${path}.${process.pid}.tmp`;
  const given = env["CC"]?.trim();
  const candidates = given !== undefined && given !== "" ? [given] : COMPILERS;
  for (const candidate of candidates) {
    const [compiler, ...flags] = candidate.split(/\s+/);
    const run = spawnSync(compiler!, [...flags, "-O2", "-fPIC", "-shared", "-o", temporary, SHIM_SOURCE, "-ldl", "-pthread"], { encoding: "utf8", timeout: 120_000 });
    if ((run.error as NodeJS.ErrnoException | undefined)?.code === "ENOENT" || (run.error as NodeJS.ErrnoException | undefined)?.code === "EACCES") continue;
    if (run.status !== 0 || run.error !== undefined) {
      rmSync(temporary, { force: true });
      const why = run.error !== undefined ? messageOf(run.error) : (run.stderr.trim().split("\n").find((line) => /error/i.test(line)) ?? run.stderr.trim().split("\n")[0] ?? `exit status ${run.status}`);
      throw new CliError(`record: the C compiler (${candidate}) could not build the recorder ${SHIM_SOURCE}: ${why}`);
    }
    renameSync(temporary, path);
    return { path, built: true, compiler: candidate };
  }
  throw new CliError(
    given !== undefined && given !== ""
      ? `record: no C compiler: CC=${given} cannot be run (the recorder is C, built on first use; set CC to a compiler, or unset it to use cc)`
      : "record: no C compiler: the recorder is C, built on first use with cc, gcc or clang, and none is here (install one: sudo apt-get install gcc; or set CC)",
  );
}
