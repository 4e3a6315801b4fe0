/**
 * The stable error codes of tsmalloc. Every error the project throws is a {@link TsmallocError}
 * whose `code` is one of these strings; codes never change meaning between versions, messages may.
 *
 * | code | thrown when |
 * |---|---|
 * | `ERR_TSMALLOC_INVALID_SIZE` | a size is not a non-negative integer `number` (NaN, Infinity, -1, 1.5, a string, a bigint, undefined) |
 * | `ERR_TSMALLOC_INVALID_ALIGNMENT` | an alignment is not a power of two, or is larger than the allocator supports |
 * | `ERR_TSMALLOC_INVALID_POINTER` | a pointer is not a number, misaligned, outside the memory, or not the start of a live block of this allocator |
 * | `ERR_TSMALLOC_DOUBLE_FREE` | a block is freed (or reallocated) after it was already freed |
 * | `ERR_TSMALLOC_CORRUPTION` | an allocator finds its own structures broken (see `check()`) |
 * | `ERR_TSMALLOC_INVALID_OPTION` | a constructor or factory option is out of range or inconsistent |
 * | `ERR_TSMALLOC_INCOMPATIBLE` | `attach()` finds no tsmalloc structure, or one of another layout version, where it looks |
 * | `ERR_TSMALLOC_OUT_OF_MEMORY` | a constructor cannot map the memory it needs to start (allocation calls never throw it: they return 0) |
 * | `ERR_TSMALLOC_WRONG_THREAD` | an allocator that belongs to one thread (CPython's GIL rule, enforced by `@tsmalloc/debug` for the MEM and OBJ domains) is called from another |
 * | `ERR_TSMALLOC_THREAD_LIMIT` | a thread asks for heaps of its own in a shared memory whose every heap slot is held (`HeapSlots`, a free-threaded runtime's `attachRuntime`) |
 * | `ERR_TSMALLOC_UNKNOWN_ALLOCATOR` | an allocator configuration name (`TSMALLOC`, CPython's `PYTHONMALLOC`) is not one this build knows |
 * | `ERR_TSMALLOC_NOT_TRACING` | something that needs tracemalloc to be tracing (`takeSnapshot`) is called while it is not (CPython's `RuntimeError`) |
 */
export const ErrorCode = {
  InvalidSize: "ERR_TSMALLOC_INVALID_SIZE",
  InvalidAlignment: "ERR_TSMALLOC_INVALID_ALIGNMENT",
  InvalidPointer: "ERR_TSMALLOC_INVALID_POINTER",
  DoubleFree: "ERR_TSMALLOC_DOUBLE_FREE",
  Corruption: "ERR_TSMALLOC_CORRUPTION",
  InvalidOption: "ERR_TSMALLOC_INVALID_OPTION",
  Incompatible: "ERR_TSMALLOC_INCOMPATIBLE",
  OutOfMemory: "ERR_TSMALLOC_OUT_OF_MEMORY",
  WrongThread: "ERR_TSMALLOC_WRONG_THREAD",
  UnknownAllocator: "ERR_TSMALLOC_UNKNOWN_ALLOCATOR",
  NotTracing: "ERR_TSMALLOC_NOT_TRACING",
  ThreadLimit: "ERR_TSMALLOC_THREAD_LIMIT",
} as const;

/** One of the {@link ErrorCode} strings. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Extra facts an error can carry. */
export interface TsmallocErrorOptions {
  /** The address the error is about (a pointer, a region start). */
  readonly address?: number;
  /** The error that caused this one. */
  readonly cause?: unknown;
}

/**
 * The one error class of tsmalloc. Check `code` (stable) rather than `message` (for humans).
 *
 * Allocators throw it only for misuse: bad arguments, foreign or freed pointers, broken heaps.
 * Running out of memory is not an error: `malloc` and friends return 0 (NULL), as in C.
 *
 * @example
 * ```ts
 * try { heap.free(12345); } catch (e) {
 *   if (isTsmallocError(e, ErrorCode.InvalidPointer)) console.log(e.address);
 * }
 * ```
 */
export class TsmallocError extends Error {
  override readonly name: string = "TsmallocError";
  /** What went wrong, as a stable code. */
  readonly code: ErrorCode;
  /** The address the error is about, when there is one. */
  readonly address: number | undefined;

  constructor(code: ErrorCode, message: string, options?: TsmallocErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.address = options?.address;
  }
}

/**
 * True when `value` is a {@link TsmallocError} (of the given `code`, when one is given).
 * Never throws.
 */
export function isTsmallocError(value: unknown, code?: ErrorCode): value is TsmallocError {
  return value instanceof TsmallocError && (code === undefined || value.code === code);
}
