/*
 * aligned_alloc and posix_memalign over a domain, which has no aligned allocation of its own
 * (CPython's PyMemAllocatorEx has none either). Every allocator of the project hands out 16-byte
 * aligned blocks, so an alignment up to 16 is a plain malloc. A larger one takes a block with
 * room to spare and returns the first aligned address inside it:
 *
 *     base (from the domain)          q (returned: aligned)
 *     |  ...... up to alignment-16 ... | size bytes for the caller ........ | slack |
 *
 * When q is not the block's own start, q -> base is remembered here, so that free(q),
 * realloc(q, n) and malloc_usable_size(q) reach the block. These over-aligned blocks are the only
 * state the bindings keep outside the memory: free them through the same bindings (the same
 * instance). Debug hooks guard the whole block, so an overflow into the slack goes unnoticed.
 */
import { MAX_REQUEST_SIZE } from "@tsmalloc/registry";
/** The alignment every allocator of the project gives a plain malloc. */
export const NATURAL_ALIGNMENT = 16;

/** The four calls of a domain, with sizes and pointers as unsigned numbers. @internal */
export interface DomainCalls {
  malloc(size: number): number;
  calloc(nelem: number, elsize: number): number;
  realloc(ptr: number, size: number): number;
  free(ptr: number): void;
}

/** The over-aligned blocks of one set of bindings: aligned address -> the domain's block. @internal */
export class AlignedBlocks {
  /** How many are live: the hot paths test this before anything else. */
  count = 0;
  readonly #base = new Map<number, number>();
  readonly #calls: DomainCalls;
  readonly #memory: () => Uint8Array;

  constructor(calls: DomainCalls, memory: () => Uint8Array) {
    this.#calls = calls;
    this.#memory = memory;
  }

  /**
   * `aligned_alloc(alignment, size)`: a block of `size` bytes at a multiple of `alignment`.
   * @returns the address, or 0 when `alignment` is not a power of two below 2^32 or there is no memory
   */
  allocate(alignment: number, size: number): number {
    if (alignment === 0 || alignment > 0x8000_0000 || (alignment & (alignment - 1)) !== 0) return 0;
    const calls = this.#calls;
    if (alignment <= NATURAL_ALIGNMENT) {
      const p = calls.malloc(size);
      if (p % alignment === 0) return p;
      calls.free(p); // an allocator of someone else's with less alignment: take the long way
    }
    // the domain refuses more than MAX_REQUEST_SIZE anyway; refusing here keeps the sum from
    // wrapping when the call converts it to 32 bits
    if (size > MAX_REQUEST_SIZE - alignment) return 0;
    const base = calls.malloc(size + alignment);
    if (base === 0) return 0;
    const aligned = Math.ceil(base / alignment) * alignment;
    if (aligned !== base) {
      this.#base.set(aligned, base);
      this.count++;
    }
    return aligned;
  }

  /** The domain's block behind `ptr` when `ptr` is an over-aligned address, else -1. */
  baseOf(ptr: number): number {
    return this.#base.get(ptr) ?? -1;
  }

  /** `free(ptr)` for an over-aligned address; false when `ptr` is not one. */
  free(ptr: number): boolean {
    const base = this.#base.get(ptr);
    if (base === undefined) return false;
    this.#calls.free(base);
    this.#base.delete(ptr);
    this.count--;
    return true;
  }

  /**
   * `realloc(ptr, size)` for an over-aligned address (C promises the new block no more than
   * malloc's alignment): a new block, the old contents copied, the old block freed.
   * @returns the new block, or 0 when there is no memory (the old block is then intact)
   */
  reallocate(ptr: number, size: number, usable: number): number {
    const base = this.#base.get(ptr)!;
    const p = this.#calls.malloc(size);
    if (p === 0) return 0;
    const u8 = this.#memory();
    u8.copyWithin(p, ptr, ptr + Math.min(size, usable));
    this.#calls.free(base);
    this.#base.delete(ptr);
    this.count--;
    return p;
  }
}
