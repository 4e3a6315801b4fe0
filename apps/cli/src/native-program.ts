/*
 * What the native columns' C programs share: `tsmalloc bench`'s replayer (native-replayer.ts,
 * c/tsmalloc-replay.c) and `tsmalloc bench --workers`' threads program (native-threads.ts,
 * c/tsmalloc-threads.c). Each is built in variants (glibc, mimalloc, ...) on first use into the
 * cache folder (c-build.ts), a variant that cannot be built leaving its columns out with one line
 * that says why and how to get them; and each run of a native cell is one run of a program, its
 * last line of output read as JSON.
 */
import { execFile } from "node:child_process";
import { buildCached, cachedName, cSourceText } from "./c-build.ts";
import { messageOf } from "./errors.ts";
import { glibcVersion } from "./record-platform.ts";

/** A C program of the native columns. */
export interface NativeProgram {
  /** What messages call it (`the native replayer`). */
  readonly what: string;
  /** Its C source's path. */
  readonly sourcePath: string;
  /** The start of its cached builds' names (`replay`: `replay-glibc-<hash>-x64`). */
  readonly prefix: string;
  /** What a note calls all the columns it serves (`glibc, mimalloc, empty-c`). */
  readonly columns: string;
}

/** One build of a {@link NativeProgram}. */
export interface NativeVariant<K extends string> {
  /** The build's name, in its cached file's name (`glibc`). */
  readonly key: K;
  /** Compiler flags before `-o`. */
  readonly flags: readonly string[];
  /** What follows the source (`-lz`, `-lmimalloc`, ...). */
  readonly libraries: readonly string[];
  /** What a note calls the columns this build serves (`glibc, empty-c`). */
  readonly columns: string;
}

/** The builds that could be had (their programs' paths), and one line for each that could not. */
export interface NativeBuilds<K extends string> {
  readonly paths: ReadonlyMap<K, string>;
  /** One line for each build that could not be made: which columns are missing, and how to get them. */
  readonly notes: readonly string[];
}

/**
 * Finds or builds each of `variants` of `program`, in order. Never throws: not Linux with glibc,
 * an unreadable source, no compiler (one line for all), or a variant the compiler refuses (a
 * missing mimalloc or zlib says which package to install) leaves columns out with a note.
 */
export function buildNativeVariants<K extends string>(env: Readonly<Record<string, string | undefined>>, program: NativeProgram, variants: readonly NativeVariant<K>[]): NativeBuilds<K> {
  const paths = new Map<K, string>();
  const notes: string[] = [];
  if (variants.length === 0) return { paths, notes };
  if (process.platform !== "linux" || glibcVersion() === null) {
    notes.push(`bench: no native columns (${program.columns}): ${program.what} needs Linux with glibc, and this is ${process.platform === "linux" ? "Linux with another C library" : process.platform}`);
    return { paths, notes };
  }
  let source: string;
  try {
    // the source and its headers (churn.h, common.h): a change to any of them builds it again
    source = cSourceText(program.sourcePath);
  } catch (error) {
    notes.push(`bench: no native columns (${program.columns}): cannot read ${program.sourcePath}: ${messageOf(error)}`);
    return { paths, notes };
  }
  for (const variant of variants) {
    const { key, flags, libraries, columns } = variant;
    const result = buildCached(env, { command: "bench", what: program.what, sourcePath: program.sourcePath, source, name: cachedName(`${program.prefix}-${key}`, source), flags, libraries });
    if (result.ok) {
      paths.set(key, result.path);
    } else if (result.why === "no-compiler") {
      // the same compiler for every build: one line says it
      notes.push(`${result.message}; no ${program.columns} column`);
      break;
    } else if (libraries.includes("-lmimalloc") && /mimalloc\.h|-lmimalloc/.test(result.message)) {
      notes.push(`bench: no ${columns} column: mimalloc's development files are not installed (install them: sudo apt-get install libmimalloc-dev)`);
    } else if (libraries.includes("-lz") && /zlib\.h|-lz\b/.test(result.message)) {
      notes.push(`bench: no ${columns} column: zlib's development files are not installed (install them: sudo apt-get install zlib1g-dev)`);
    } else {
      notes.push(`${result.message}; no ${columns} column`);
    }
  }
  return { paths, notes };
}

/** The last line a native program printed, as JSON. @throws SyntaxError when it is not JSON */
export function lastJsonLine(stdout: string): unknown {
  return JSON.parse(stdout.trim().split("\n").at(-1) ?? "");
}

/** A run of a native program: what `read` made of its output, or why there is none. */
export type NativeRun<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string } | "over budget";

/**
 * Runs `binary` with `args`, stopped after `budgetMs` ("over budget"), and gives its output to
 * `read`. Never rejects: a program that fails gives its first line on stderr (or the spawn error),
 * and a `read` that throws gives `WHAT's output is not what it should be: ...`.
 */
export function runNativeProgram<T>(what: string, binary: string, args: readonly string[], budgetMs: number, read: (stdout: string) => T): Promise<NativeRun<T>> {
  return new Promise((resolve) => {
    execFile(binary, args, { timeout: budgetMs, maxBuffer: 1 << 20, encoding: "utf8" }, (error, stdout, stderr) => {
      if (error !== null) {
        resolve(error.killed === true ? "over budget" : { ok: false, error: stderr.trim().split("\n")[0] || messageOf(error) });
        return;
      }
      try {
        resolve({ ok: true, value: read(stdout) });
      } catch (readError) {
        resolve({ ok: false, error: `${what}'s output is not what it should be: ${messageOf(readError)}` });
      }
    });
  });
}
