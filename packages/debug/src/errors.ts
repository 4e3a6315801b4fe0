import { describeValue, ErrorCode, formatAddress, TsmallocError } from "@tsmalloc/memory";

/** What a {@link DebugCorruptionError} can be about. */
export type DebugErrorCode = typeof ErrorCode.Corruption | typeof ErrorCode.WrongThread;

/**
 * What the debug hooks raise when a check fails, CPython's "Fatal Python error" as an object.
 *
 * - `code` `ERR_TSMALLOC_CORRUPTION`: a block failed a check on free, realloc or usableSize (bad
 *   API id, which is also how a double free and a write after free show, or a bad pad byte).
 *   `report` holds the dump of the block, the traceback part and the fatal-error line.
 * - `code` `ERR_TSMALLOC_WRONG_THREAD`: a MEM or OBJ allocator was called from a thread that
 *   does not own it. `report` is the fatal-error line alone.
 *
 * It is thrown, or handed to the `onCorruption` handler, or written to stderr before the process
 * ends, as the hooks' `onCorruption` option says.
 */
export class DebugCorruptionError extends TsmallocError {
  override readonly name: string = "DebugCorruptionError";
  declare readonly code: DebugErrorCode;
  /** The data pointer of the block (0 for the thread check, which is about no block). */
  declare readonly address: number;
  /**
   * The full report, exactly as `onCorruption: "abort"` writes it to stderr: the block's dump,
   * the traceback part, then `Fatal tsmalloc error: <func>: <message>`; lines end with `"\n"`.
   */
  readonly report: string;
  /**
   * The API id found in the block's header: the character (`"m"`) when it is printable ASCII,
   * otherwise the byte escaped as Python writes it (`"\\xdd"` for a freed block). For the thread
   * check, the id of the hooks that refused the call.
   */
  readonly api: string;
  /** The hook that failed: `debugRawFree`, `debugRawRealloc`, `debugMalloc`, ... */
  readonly func: string;

  /** Made by the hooks; `message` is `"<func>: <what failed>"`. */
  constructor(code: DebugErrorCode, func: string, message: string, report: string, address: number, api: string) {
    super(code, `${func}: ${message}`, { address });
    this.report = report;
    this.api = api;
    this.func = func;
  }
}

/**
 * What happens after a failed check: `"throw"` the {@link DebugCorruptionError}; `"abort"`, write
 * its report to stderr and end the process with status 134 (CPython's abort, for command-line
 * tools); or call a handler with it.
 */
export type OnCorruption = "throw" | "abort" | CorruptionHandler;

/**
 * Called with the error of a failed check. When it returns, the call that failed does nothing:
 * free leaves the block as it is, malloc, calloc and realloc return 0, usableSize returns 0.
 * It may throw, and then the call throws that.
 */
export type CorruptionHandler = (error: DebugCorruptionError) => void;

/** The error for a pointer whose header would lie outside the memory. @internal */
export function pointerError(fn: string, ptr: number, byteLength: number, headerBytes: number): TsmallocError {
  return new TsmallocError(
    ErrorCode.InvalidPointer,
    `${fn}: ${formatAddress(ptr)} cannot be a debug block: its ${headerBytes}-byte header would lie outside the memory (${byteLength} bytes)`,
    { address: ptr },
  );
}

/** The error for a bad option. @internal */
export function optionError(fn: string, what: string, value: unknown): TsmallocError {
  return new TsmallocError(ErrorCode.InvalidOption, `${fn}: ${what}, got ${describeValue(value)}`);
}
