/*
 * C programs the command builds from its own sources with the system's C compiler, on first use,
 * into a cache folder: `tsmalloc record`'s recorder (record-shim.ts) and `tsmalloc bench`'s native
 * replayer (native-replayer.ts). Each is kept under a name made of the hash of its source and the
 * local headers the source includes (cSourceText) and the machine's architecture, so that a new
 * version of any of them is built again and an old object is never used for it:
 *
 *   $XDG_CACHE_HOME/tsmalloc/record-3f2a9c0d1e4b5a6f-x64.so     (~/.cache/tsmalloc/... without XDG_CACHE_HOME)
 *   $XDG_CACHE_HOME/tsmalloc/replay-glibc-8c1d0e2f3a4b5c6d-x64
 *
 * The compiler is $CC when it is set (words: `ccache gcc` works), else the first of cc, gcc and
 * clang found. It writes to a temporary name that is renamed at the end, so that two commands
 * building at once, or one interrupted, never leave a half-written file under the real name.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { messageOf } from "./errors.ts";

/** The compilers tried, in order, when CC is not set. */
const COMPILERS: readonly string[] = ["cc", "gcc", "clang"];

/** The folder of built programs: $XDG_CACHE_HOME/tsmalloc, else ~/.cache/tsmalloc. */
export function cacheFolder(env: Readonly<Record<string, string | undefined>>): string {
  const xdg = env["XDG_CACHE_HOME"];
  // the XDG rule: a relative path in the variable is to be ignored
  return join(xdg !== undefined && isAbsolute(xdg) ? xdg : join(env["HOME"] ?? homedir(), ".cache"), "tsmalloc");
}

/** `#include "x.h"` lines: a local header, looked for beside the file that includes it. */
const LOCAL_INCLUDE = /^[ \t]*#[ \t]*include[ \t]*"([^"\n]+)"/gm;

/**
 * The text that names a C program's build: its source, then each local header it includes
 * (`#include "x.h"`, from the source's folder; a header's own, from its folder, as the compiler
 * looks for them), recursively, each once, so that a change to any of them builds it again. Each
 * header's text follows its path relative to the source's folder, so that text moved from one
 * file to another changes the name too. Headers in angle brackets (the system's) are not read; an
 * `#include "x.h"` that the preprocessor would skip (under `#if 0`) is read all the same.
 * @throws the fs error of a file that cannot be read (the source, or a header it names)
 */
export function cSourceText(sourcePath: string): string {
  const source = resolve(sourcePath);
  const folder = dirname(source);
  const seen = new Set<string>([source]);
  const parts: string[] = [];
  const add = (path: string): void => {
    const text = readFileSync(path, "utf8");
    parts.push(path === source ? text : `\0${relative(folder, path)}\0${text}`);
    for (const match of text.matchAll(LOCAL_INCLUDE)) {
      const header = resolve(dirname(path), match[1]!);
      if (seen.has(header)) continue;
      seen.add(header);
      add(header);
    }
  };
  add(source);
  return parts.join("");
}

/** The cached file's name for this source: `prefix`, the source's hash, the architecture, `suffix`. */
export function cachedName(prefix: string, source: string, suffix: string = ""): string {
  return `${prefix}-${createHash("sha256").update(source).digest("hex").slice(0, 16)}-${process.arch}${suffix}`;
}

/** What to build, and how messages name it. */
export interface CBuild {
  /** The command whose messages these are (`record`). */
  readonly command: string;
  /** What messages call the program (`the recorder`). */
  readonly what: string;
  /** The C source's path. */
  readonly sourcePath: string;
  /** The text that names the build ({@link cSourceText}; hashed into the name). */
  readonly source: string;
  /** The cached file's name ({@link cachedName}). */
  readonly name: string;
  /** Compiler flags before `-o` (`-O2`, `-shared`, ...). */
  readonly flags: readonly string[];
  /** What follows the source (`-lz`, ...). */
  readonly libraries: readonly string[];
}

/** A program built (or found in the cache), or why not. */
export type CBuildResult =
  | { readonly ok: true; readonly path: string; readonly built: boolean; readonly compiler: string | null }
  /** `no-compiler`: none could be run; `failed`: the compiler refused (its first error line is in the message); `cache`: the folder cannot be made. */
  | { readonly ok: false; readonly why: "no-compiler" | "failed" | "cache"; readonly message: string; readonly cause?: unknown };

/**
 * The path of `build`'s program: from the cache, or built now. Never throws.
 * @returns the path, or why there is none, as a message that starts `COMMAND: `
 */
export function buildCached(env: Readonly<Record<string, string | undefined>>, build: CBuild): CBuildResult {
  const folder = cacheFolder(env);
  const path = join(folder, build.name);
  if (existsSync(path)) return { ok: true, path, built: false, compiler: null };
  try {
    mkdirSync(folder, { recursive: true });
  } catch (error) {
    return { ok: false, why: "cache", message: `${build.command}: cannot create the cache folder of ${build.what}, ${folder}: ${messageOf(error)} (set XDG_CACHE_HOME to another folder)`, cause: error };
  }
  const temporary = `${path}.${process.pid}.tmp`;
  const given = env["CC"]?.trim();
  const candidates = given !== undefined && given !== "" ? [given] : COMPILERS;
  for (const candidate of candidates) {
    const [compiler, ...flags] = candidate.split(/\s+/);
    const run = spawnSync(compiler!, [...flags, ...build.flags, "-o", temporary, build.sourcePath, ...build.libraries], { encoding: "utf8", timeout: 120_000 });
    const code = (run.error as NodeJS.ErrnoException | undefined)?.code;
    if (code === "ENOENT" || code === "EACCES") continue;
    if (run.status !== 0 || run.error !== undefined) {
      rmSync(temporary, { force: true });
      const lines = run.stderr.trim().split("\n");
      const why = run.error !== undefined ? messageOf(run.error) : (lines.find((line) => /error/i.test(line)) ?? lines[0] ?? `exit status ${run.status}`);
      return { ok: false, why: "failed", message: `${build.command}: the C compiler (${candidate}) could not build ${build.what} ${build.sourcePath}: ${why}` };
    }
    renameSync(temporary, path);
    return { ok: true, path, built: true, compiler: candidate };
  }
  return {
    ok: false,
    why: "no-compiler",
    message:
      given !== undefined && given !== ""
        ? `${build.command}: no C compiler: CC=${given} cannot be run (${build.what} is C, built on first use; set CC to a compiler, or unset it to use cc)`
        : `${build.command}: no C compiler: ${build.what} is C, built on first use with cc, gcc or clang, and none is here (install one: sudo apt-get install gcc; or set CC)`,
  };
}
