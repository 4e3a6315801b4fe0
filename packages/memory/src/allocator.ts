import { ErrorCode, TsmallocError } from "./errors.ts";
import type { LinearMemory } from "./linear-memory.ts";

/**
 * The contract every tsmalloc allocator implements, and the unit the registry swaps per domain:
 * CPython's `PyMemAllocatorEx` over linear memory. Pointers are byte addresses into
 * {@link Allocator.memory}; 0 is NULL.
 *
 * Rules shared by every implementation:
 * - A size or count is a non-negative integer `number`. Anything else (NaN, Infinity, -1, 1.5, a
 *   string, a bigint, undefined) throws `ERR_TSMALLOC_INVALID_SIZE`. A valid size too large for
 *   the memory returns 0, like C.
 * - Running out of memory returns 0 and leaves the heap valid.
 * - A pointer that is not a live block of this allocator throws `ERR_TSMALLOC_INVALID_POINTER`,
 *   or `ERR_TSMALLOC_DOUBLE_FREE` for a block already freed, where the allocator can tell cheaply
 *   (each allocator's README says what it detects).
 * - After any rejected call the heap is exactly as before.
 */
export interface Allocator {
  /** The configuration name: `"malloc"`, `"pymalloc"`, `"pymalloc_debug"`, ... */
  readonly name: string;
  /** The memory the pointers point into. */
  readonly memory: LinearMemory;
  /**
   * Allocates `size` bytes.
   * @returns the block's address, or 0 when no memory can be had; a zero size gives a unique
   *   non-NULL pointer
   */
  malloc(size: number): number;
  /**
   * Allocates `nelem * elsize` zeroed bytes.
   * @returns the block's address, or 0 on failure or when the product overflows the memory
   */
  calloc(nelem: number, elsize: number): number;
  /**
   * Resizes the block at `ptr` to `size` bytes, moving it if needed; the first
   * `min(old size, size)` bytes are kept. `ptr` 0 behaves as `malloc(size)`.
   * @returns the block's (possibly new) address, or 0 on failure, the old block then intact
   */
  realloc(ptr: number, size: number): number;
  /** Frees the block at `ptr`; 0 is a no-op. */
  free(ptr: number): void;
  /** Bytes the block at `ptr` can hold (at least what was asked for). Optional capability. */
  usableSize?(ptr: number): number;
  /**
   * True when `ptr` lies in memory this allocator manages (CPython's `address_in_range`), for any
   * number; never throws. Optional capability.
   */
  owns?(ptr: number): boolean;
  /** Validates every invariant of the heap and reports what is broken. Optional capability. */
  check?(): HeapCheck;
  /** Numbers about the heap. Optional capability. */
  stats?(): AllocatorStats;
}

/** One broken invariant found by {@link Allocator.check}. */
export interface HeapProblem {
  /** The address of the structure that is wrong (a block, a segment, a list head). */
  readonly address: number;
  /** What is wrong, in words. */
  readonly message: string;
}

/** The result of {@link Allocator.check}. */
export interface HeapCheck {
  /** True when no invariant is broken. */
  readonly ok: boolean;
  /** Every broken invariant found (empty when `ok`). */
  readonly problems: readonly HeapProblem[];
}

/** The numbers every allocator's `stats()` reports, whatever else it adds. */
export interface AllocatorStats {
  /** Live blocks (CPython's `sys.getallocatedblocks()`). */
  readonly allocatedBlocks: number;
  /** Bytes in live blocks, as the allocator sizes them (at least what was asked for). */
  readonly allocatedBytes: number;
  /** Bytes of regions this allocator holds from the memory: its footprint. */
  readonly mappedBytes: number;
}

/**
 * Runs `allocator.check()` and throws when the heap is broken.
 *
 * @throws {@link TsmallocError} `ERR_TSMALLOC_CORRUPTION` listing every problem;
 *   `ERR_TSMALLOC_INVALID_OPTION` when the allocator has no `check()`
 */
export function assertHeapValid(allocator: Allocator): void {
  if (typeof allocator.check !== "function") {
    throw new TsmallocError(ErrorCode.InvalidOption, `assertHeapValid: allocator "${allocator.name}" has no check()`);
  }
  const result = allocator.check();
  if (!result.ok) {
    const first = result.problems[0];
    const lines = result.problems.map((p) => `  0x${p.address.toString(16)}: ${p.message}`).join("\n");
    throw new TsmallocError(
      ErrorCode.Corruption,
      `${allocator.name}: heap check found ${result.problems.length} problem(s):\n${lines}`,
      first === undefined ? undefined : { address: first.address },
    );
  }
}
