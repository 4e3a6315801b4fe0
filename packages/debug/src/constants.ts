/*
 * The numbers of CPython's debug hooks, which this package reproduces byte for byte, and the API
 * ids of the three allocator domains. The sizes here are those of the 64-bit layout (size_t is 8
 * bytes), the default; `DebugLayouts` in debug-layout.ts has them for both layouts.
 */

/** The byte that fills the data of a new block (not for calloc): CPython's `PYMEM_CLEANBYTE`. */
export const CLEANBYTE = 0xcd;

/** The byte that fills a whole block, header and trailer included, when it is freed: `PYMEM_DEADBYTE`. */
export const DEADBYTE = 0xdd;

/** The byte of the guard ("pad") bytes around the data: `PYMEM_FORBIDDENBYTE`. */
export const FORBIDDENBYTE = 0xfd;

/** Bytes of the header before the data: the requested size, the API id and 7 pad bytes. */
export const HEADER_BYTES = 16;

/** Bytes of the trailing pad after the data. */
export const TRAILER_BYTES = 8;

/** Bytes of the serial number after the trailing pad, when serial numbers are on. */
export const SERIAL_BYTES = 8;

/** Bytes the hooks add to every request: header and trailing pad (CPython's 3 * SST). */
export const DEBUG_EXTRA_BYTES = 24;

/** Bytes the hooks add to every request when serial numbers are on (4 * SST). */
export const DEBUG_EXTRA_BYTES_SERIAL = 32;

/** realloc saves and erases this many bytes at each end of the data (CPython's `ERASED_SIZE`). */
export const ERASED_SIZE = 64;

/**
 * The id byte of each allocator domain, written into every block's header: RAW (`'r'`,
 * `PyMem_RawMalloc`), MEM (`'m'`, `PyMem_Malloc`) and OBJ (`'o'`, `PyObject_Malloc`).
 */
export const ApiId = { Raw: "r", Mem: "m", Obj: "o" } as const;

/** One of the {@link ApiId} characters. */
export type ApiId = (typeof ApiId)[keyof typeof ApiId];

/** True when `value` is one of the {@link ApiId} characters. Never throws. */
export function isApiId(value: unknown): value is ApiId {
  return value === "r" || value === "m" || value === "o";
}
