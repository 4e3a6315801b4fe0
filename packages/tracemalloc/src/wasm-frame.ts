/*
 * Frames of WebAssembly functions. V8's stack carries them between JavaScript frames, named from
 * the module's name section when it has one:
 *
 *     at overflow (wasm://wasm/00015a7a:wasm-function[14]:0x3f5)
 *        |         |                    |                 '- the call's byte offset in the module
 *        |         |                    '- the function's index
 *        |         '- the module: wasm://wasm/<hash of its bytes> (<name>-<hash> when the name
 *        |            section names the module), or the URL it was compiled from (streaming)
 *        '- the function's name; null without a name section
 *
 * CPython's Frame has a file name and a line, nothing else. A wasm frame becomes
 *
 *     Frame("<module>:<function>", <byte offset of the call>)
 *
 * The function goes into the file name because a function is what a C programmer looks for, and
 * so that statistics by "filename" are one line per C function; the byte offset is the line
 * because it is what a line is in CPython's statistics by "lineno", one per call site (two
 * mallocs in one function are two lines), stable for the same bytes, and the number V8's own
 * stack traces print (in hex) and that `llvm-symbolizer` or `wasm-objdump -d` map back to the
 * source. A function without a name is `wasm-function[<index>]`, as V8 writes it.
 *
 * This is the cold path: each call site is read once, by formatting its CallSite (V8's native
 * toString, the only place that tells a wasm frame apart whatever its module's URL).
 */
import { displayFilename } from "./host.ts";
import type { CallSite, SourcePosition } from "./source-position.ts";

/**
 * The C library's allocation functions, and CPython's, as a module compiled with
 * @tsmalloc/wasm's shim (or any module that imports its allocator) names them, and C++'s
 * `operator new` (wasm32's mangled names). A wasm frame of one of these is the allocator's own,
 * as the registry's entry points are: it is dropped from the traceback with the JavaScript
 * frames more recent than it (the import that called the entry point), and the first frame kept
 * is the C function that called it. @internal
 */
export const C_ALLOCATION_FUNCTIONS: ReadonlySet<string> = new Set([
  "malloc",
  "calloc",
  "realloc",
  "reallocf",
  "reallocarray",
  "aligned_alloc",
  "posix_memalign",
  "memalign",
  "valloc",
  "pvalloc",
  "__libc_malloc",
  "__libc_calloc",
  "__libc_realloc",
  "PyMem_RawMalloc",
  "PyMem_RawCalloc",
  "PyMem_RawRealloc",
  "PyMem_Malloc",
  "PyMem_Calloc",
  "PyMem_Realloc",
  "PyObject_Malloc",
  "PyObject_Calloc",
  "PyObject_Realloc",
  "_Znwm",
  "_Znam",
  "_ZnwmRKSt9nothrow_t",
  "_ZnamRKSt9nothrow_t",
  "_ZnwmSt11align_val_t",
  "_ZnamSt11align_val_t",
]);

/** A wasm frame's location as V8's CallSite writes it: `<module>:wasm-function[<index>]:0x<offset>`. */
const WASM_LOCATION = /:wasm-function\[(\d+)\]:0x([0-9a-f]+)\)?$/;

/** A wasm call site read into a frame's parts. @internal */
export interface WasmSource extends SourcePosition {
  /** True when the function is one of {@link C_ALLOCATION_FUNCTIONS}. */
  readonly allocator: boolean;
}

/**
 * The frame of `site` when it is a WebAssembly function's: `file` is `<module>:<function>`, `line`
 * the byte offset of the call in the module.
 * @param script the site's script name (V8's name of the module)
 * @returns undefined for a JavaScript frame
 * @internal
 */
export function wasmSource(site: CallSite, script: string): WasmSource | undefined {
  let text: string;
  try {
    text = String(site);
  } catch {
    return undefined;
  }
  const location = WASM_LOCATION.exec(text);
  if (location === null) return undefined;
  const name = site.getFunctionName();
  const fn = name === null || name === "" ? `wasm-function[${location[1]}]` : name;
  return { file: `${displayFilename(script)}:${fn}`, line: Number.parseInt(location[2]!, 16), allocator: name !== null && C_ALLOCATION_FUNCTIONS.has(name) };
}
