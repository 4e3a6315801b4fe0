/*
 * @tsmalloc/wasm/compile (Node only): C to wasm32-wasi with clang, the shim and the link flags
 * added, so that the result runs under instantiate(). It uses Debian's toolchain (`clang`, `lld`,
 * `wasi-libc`, `libclang-rt-14-dev-wasm32`; scripts/ensure-wasm-toolchain.sh installs them) or
 * any clang with a wasm32-wasi sysroot (`TSMALLOC_CLANG`, `--sysroot` in `flags`).
 */
/// <reference types="node" />
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describeValue, ErrorCode, TsmallocError } from "@tsmalloc/memory";

/** The one line that says how to get the toolchain. */
export const TOOLCHAIN_ADVICE: string =
  "clang for wasm32-wasi is missing: run `bash scripts/ensure-wasm-toolchain.sh` in the tsmalloc repository, or `sudo apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32` (or set TSMALLOC_CLANG to a clang with a wasm32-wasi sysroot)";

/**
 * The package's c/ folder: next to this module's folder, or (when this module was bundled into
 * some other place, as a script bundled with esbuild is) found by resolving the package from the
 * working directory.
 */
function shimFolder(): string {
  const beside = fileURLToPath(new URL("../c/", import.meta.url));
  if (existsSync(join(beside, "tsmalloc-shim.c"))) return beside;
  try {
    const manifest = createRequire(join(process.cwd(), "package.json")).resolve("@tsmalloc/wasm/package.json");
    return join(dirname(manifest), "c/");
  } catch {
    return beside;
  }
}

/** The folder of `tsmalloc.h` and `tsmalloc-shim.c`, shipped with the package. */
export const SHIM_INCLUDE: string = shimFolder();
/** The shim's C file. */
export const SHIM_SOURCE: string = join(SHIM_INCLUDE, "tsmalloc-shim.c");

/** The link flags a module needs to run on a tsmalloc heap. */
export const LINK_FLAGS: readonly string[] = ["-Wl,--import-memory", "-Wl,--export=__heap_base"];

/** Options of {@link compileC}. */
export interface CompileOptions {
  /** The C files. */
  readonly sources: readonly string[];
  /** The module to write (replaced whole: a reader never sees half of it). */
  readonly output: string;
  /**
   * Link `c/tsmalloc-shim.c` with the import-memory and `__heap_base` flags (true), or build a
   * plain WASI program with wasi-libc's own malloc (false), for comparison.
   * @defaultValue true
   */
  readonly shim?: boolean;
  /** Optimisation level: clang's `-O`. @defaultValue "2" */
  readonly optimize?: "0" | "1" | "2" | "3" | "s" | "z";
  /** More arguments for clang (`-D…`, `-I…`, `-Wl,…`). @defaultValue none */
  readonly flags?: readonly string[];
  /** The clang to run. @defaultValue `TSMALLOC_CLANG` from the environment, else `clang` */
  readonly clang?: string;
}

/** clang failed: the toolchain is missing (`missing`), or the program did not compile. */
export class CompileError extends Error {
  override readonly name: string = "CompileError";
  /** True when there is no clang that can build for wasm32-wasi ({@link TOOLCHAIN_ADVICE}). */
  readonly missing: boolean;
  /** What clang wrote to stderr. */
  readonly stderr: string;
  constructor(message: string, missing: boolean, stderr: string) {
    super(message);
    this.missing = missing;
    this.stderr = stderr;
  }
}

const working = new Map<string, boolean>();

function defaultClang(): string {
  return process.env["TSMALLOC_CLANG"] || "clang";
}

/**
 * True when `clang` compiles and links a program that uses the C library for wasm32-wasi (the
 * answer is remembered for the process).
 */
export function hasWasmToolchain(clang: string = defaultClang()): boolean {
  const known = working.get(clang);
  if (known !== undefined) return known;
  const dir = mkdtempSync(join(tmpdir(), "tsmalloc-clang-"));
  let ok = false;
  try {
    writeFileSync(join(dir, "probe.c"), '#include <stdio.h>\nint main(void) { puts("ok"); return 0; }\n');
    execFileSync(clang, ["--target=wasm32-wasi", "-O1", "-o", join(dir, "probe.wasm"), join(dir, "probe.c")], { stdio: "pipe" });
    ok = true;
  } catch {
    ok = false;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  working.set(clang, ok);
  return ok;
}

/**
 * Compiles C `sources` into the wasm32-wasi module `output`: with `shim` (the default),
 * `c/tsmalloc-shim.c` is added, `c/tsmalloc.h` is on the include path, and the module imports its
 * memory and exports `__heap_base`, ready for `instantiate()`. The name section is kept (V8's
 * stack traces then name the C functions); DWARF is stripped.
 *
 * @throws {@link CompileError} with `missing` true and {@link TOOLCHAIN_ADVICE} when there is no
 *   wasm32-wasi clang, else with clang's messages when the program does not compile;
 *   {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` for a bad option
 */
export function compileC(options: CompileOptions): void {
  if (typeof options !== "object" || options === null) throw optionError(`options must be an object, got ${describeValue(options)}`);
  const { sources, output } = options;
  if (!Array.isArray(sources) || sources.length === 0 || !sources.every((s) => typeof s === "string")) {
    throw optionError(`sources must be a non-empty array of file names, got ${describeValue(sources)}`);
  }
  if (typeof output !== "string" || output === "") throw optionError(`output must be a file name, got ${describeValue(output)}`);
  const flags = options.flags ?? [];
  if (!Array.isArray(flags) || !flags.every((f) => typeof f === "string")) throw optionError(`flags must be an array of strings, got ${describeValue(flags)}`);
  const optimize = options.optimize ?? "2";
  if (!["0", "1", "2", "3", "s", "z"].includes(optimize)) throw optionError(`optimize must be one of 0, 1, 2, 3, s, z, got ${describeValue(optimize)}`);
  const clang = options.clang ?? defaultClang();
  if (!hasWasmToolchain(clang)) throw new CompileError(TOOLCHAIN_ADVICE, true, "");

  const shim = options.shim ?? true;
  const args = [
    "--target=wasm32-wasi",
    `-O${optimize}`,
    "-Wall",
    "-Wextra",
    ...(shim ? ["-I", SHIM_INCLUDE] : []),
    ...flags,
    ...sources,
    ...(shim ? [SHIM_SOURCE, ...LINK_FLAGS] : []),
    "-Wl,--strip-debug",
  ];
  const partial = `${output}.${process.pid}.partial`;
  try {
    execFileSync(clang, [...args, "-o", partial], { stdio: "pipe" });
    renameSync(partial, output);
  } catch (error) {
    rmSync(partial, { force: true });
    const stderr = String((error as { stderr?: unknown }).stderr ?? "");
    throw new CompileError(`clang could not build ${output}:\n${stderr.trim() || (error as Error).message}`, false, stderr);
  }
}

function optionError(message: string): TsmallocError {
  return new TsmallocError(ErrorCode.InvalidOption, `compileC: ${message}`);
}
