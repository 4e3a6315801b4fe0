/*
 * A hook that counts the calls a domain serves (installed with setAllocator): the benchmark
 * counts a program's allocation calls with it (untimed), the tests what reached each domain.
 */
import type { Allocator, LinearMemory } from "@tsmalloc/memory";

/** Counts malloc, calloc, realloc and free calls, and hands each on. */
export class CountingHook implements Allocator {
  readonly name = "counting";
  readonly memory: LinearMemory;
  readonly wrapped: Allocator;
  calls = 0;
  /** Blocks handed out and not yet freed, by this hook's count. */
  live = 0;
  constructor(wrapped: Allocator) {
    this.wrapped = wrapped;
    this.memory = wrapped.memory;
  }
  malloc(size: number): number {
    this.calls++;
    const p = this.wrapped.malloc(size);
    if (p !== 0) this.live++;
    return p;
  }
  calloc(nelem: number, elsize: number): number {
    this.calls++;
    const p = this.wrapped.calloc(nelem, elsize);
    if (p !== 0) this.live++;
    return p;
  }
  realloc(ptr: number, size: number): number {
    this.calls++;
    const p = this.wrapped.realloc(ptr, size);
    if (ptr === 0 && p !== 0) this.live++;
    return p;
  }
  free(ptr: number): void {
    this.calls++;
    this.wrapped.free(ptr);
    if (ptr !== 0) this.live--;
  }
  usableSize(ptr: number): number {
    return this.wrapped.usableSize!(ptr);
  }
}

/** A {@link CountingHook} over `allocator`. */
export function countingHook(allocator: Allocator): CountingHook {
  return new CountingHook(allocator);
}
