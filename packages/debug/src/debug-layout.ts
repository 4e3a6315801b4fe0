/*
 * The two block layouts of CPython's debug hooks: everything in a debug block is sized by `SST`,
 * `sizeof(size_t)`, 8 on 64-bit platforms and 4 on 32-bit ones such as wasm32 (see the
 * `@tsmalloc/pymalloc` README for which platform model each preset follows):
 *
 *     64-bit (SST 8):  | size (8, BE) | id | 7 x 0xFD | data | 8 x 0xFD | serial (8, BE) |
 *     wasm32 (SST 4):  | size (4, BE) | id | 3 x 0xFD | data | 4 x 0xFD | serial (4, BE) |
 *
 * so the hooks add 3 * SST bytes to a request (4 * SST with serial numbers): 24 or 32 on 64-bit,
 * 12 or 16 on wasm32.
 */
import { optionError } from "./errors.ts";

/** A debug block layout: its `SST` and the sizes that follow from it. */
export interface DebugLayout {
  /** The preset's name: `"64-bit"` or `"wasm32"`. */
  readonly name: DebugLayoutName;
  /** `sizeof(size_t)`: bytes of the size field, of the trailing pad and of the serial number. */
  readonly sst: number;
  /** Bytes before the data: the size, the API id and SST - 1 pad bytes (2 * SST). */
  readonly headerBytes: number;
  /** Bytes the hooks add to a request without serial numbers (3 * SST). */
  readonly extraBytes: number;
  /** Bytes the hooks add to a request with serial numbers (4 * SST). */
  readonly extraBytesSerial: number;
}

function layoutOf(name: DebugLayoutName, sst: number): DebugLayout {
  return Object.freeze({ name, sst, headerBytes: 2 * sst, extraBytes: 3 * sst, extraBytesSerial: 4 * sst });
}

/** The name of a debug block layout. */
export type DebugLayoutName = "64-bit" | "wasm32";

/**
 * The layouts of CPython's debug hooks: `"64-bit"` (SST 8, CPython on 64-bit platforms, the
 * default) and `"wasm32"` (SST 4, CPython on 32-bit platforms such as WebAssembly).
 */
export const DebugLayouts: { readonly "64-bit": DebugLayout; readonly wasm32: DebugLayout } = Object.freeze({
  "64-bit": layoutOf("64-bit", 8),
  wasm32: layoutOf("wasm32", 4),
});

/**
 * The layout named `name` (undefined: `"64-bit"`).
 * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` for any other value
 * @internal
 */
export function resolveDebugLayout(name: unknown, fn: string): DebugLayout {
  if (name === undefined || name === "64-bit") return DebugLayouts["64-bit"];
  if (name === "wasm32") return DebugLayouts.wasm32;
  throw optionError(fn, `layout must be "64-bit" or "wasm32"`, name);
}
