/*
 * The options of the WASI a program runs under, and what both hosts (node:wasi and the minimal
 * one of minimal-wasi.ts) offer to instantiate().
 */
import type { WasmExports, WasmMemory, WasmModuleImports } from "./webassembly.ts";

/** The import module of WASI preview 1, which wasi-libc's programs import from. */
export const WASI_IMPORT_MODULE = "wasi_snapshot_preview1";

/** Where a program's standard output or error goes: a function that takes the text, or (in Node) a file descriptor. */
export type WasiOutput = ((text: string) => void) | number;

/** Options of the WASI a program runs under (`instantiate(…, { wasi })`). */
export interface WasiOptions {
  /**
   * Which WASI: `"node"`, Node's `node:wasi` (files through `preopens`, descriptors for the
   * standard streams); `"minimal"`, this package's own, for browsers (arguments, environment,
   * standard streams, clocks, random; everything else answers ENOSYS).
   * @defaultValue `"node"` in Node unless a standard stream is a function, else `"minimal"`
   */
  readonly host?: "node" | "minimal";
  /** The program's `argv`, its name first. @defaultValue `["program"]` */
  readonly args?: readonly string[];
  /** The program's environment. @defaultValue empty */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * Standard output: a function that receives the text as the program writes it (the minimal
   * host), or a file descriptor (node:wasi).
   * @defaultValue the process's standard output in Node, `console.log` line by line elsewhere
   */
  readonly stdout?: WasiOutput;
  /** Standard error, as {@link WasiOptions.stdout}. @defaultValue the process's, or `console.error` */
  readonly stderr?: WasiOutput;
  /**
   * Standard input: the bytes or text the program reads (the minimal host; it then reads end of
   * file), or a file descriptor (node:wasi).
   * @defaultValue nothing (end of file) in the minimal host; the process's in node:wasi
   */
  readonly stdin?: string | Uint8Array | number;
  /** Directories the program may open, guest path to host path (node:wasi only). @defaultValue none */
  readonly preopens?: Readonly<Record<string, string>>;
}

/** A WASI implementation bound to one program. @internal */
export interface WasiHost {
  /** `"node"` or `"minimal"`. */
  readonly kind: "node" | "minimal";
  /** The functions of {@link WASI_IMPORT_MODULE}. */
  readonly imports: WasmModuleImports;
  /** Runs `_start` and returns the exit status. */
  start(exports: WasmExports, memory: WasmMemory): number;
  /** Runs `_initialize`. */
  initialize(exports: WasmExports, memory: WasmMemory): void;
}

const WASI_KEYS: ReadonlySet<string> = new Set(["host", "args", "env", "stdout", "stderr", "stdin", "preopens"]);

/** The names of {@link WasiOptions}. @internal */
export function isWasiOptionKey(key: string): boolean {
  return WASI_KEYS.has(key);
}
