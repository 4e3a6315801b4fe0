import type { Allocator } from "@tsmalloc/memory";
import { checkOversize, isValidSize } from "@tsmalloc/memory";
import { WrappingAllocator } from "./wrapping-allocator.ts";

/**
 * The one counter all three fault hooks share (CPython's `FmData`): allocation calls are numbered
 * from 1 across the domains, and call `n` fails when `start < n` and (`stop` is 0 or `n <= stop`).
 * @internal
 */
export class FaultCounter {
  start = 0;
  stop = 0;
  count = 0;

  /** Counts one call; true when it must fail. */
  fail(): boolean {
    const n = ++this.count;
    return n > this.start && (this.stop <= 0 || n <= this.stop);
  }
}

/**
 * The hook `setNoMemory` installs on a domain (CPython's `_testcapi.set_nomemory` hooks): each
 * malloc, calloc and realloc is counted on the shared {@link FaultCounter} and, when its number
 * is in the failing range, returns 0 without calling the allocator below; otherwise, and for
 * every free, it calls the allocator it wraps.
 * @internal
 */
export class FaultInjectionAllocator extends WrappingAllocator {
  readonly name: string = "nomemory";
  readonly #counter: FaultCounter;

  /** @param wrapped the allocator the domain had before; `removeMemHooks` puts it back */
  constructor(wrapped: Allocator, counter: FaultCounter) {
    super(wrapped);
    this.#counter = counter;
  }

  malloc(size: number): number {
    if (!isValidSize(size)) checkOversize(size, "malloc");
    return this.#counter.fail() ? 0 : this.wrapped.malloc(size);
  }

  calloc(nelem: number, elsize: number): number {
    if (!isValidSize(nelem)) checkOversize(nelem, "calloc", "nelem");
    if (!isValidSize(elsize)) checkOversize(elsize, "calloc", "elsize");
    return this.#counter.fail() ? 0 : this.wrapped.calloc(nelem, elsize);
  }

  realloc(ptr: number, size: number): number {
    if (!isValidSize(size)) checkOversize(size, "realloc");
    return this.#counter.fail() ? 0 : this.wrapped.realloc(ptr, size);
  }

  free(ptr: number): void {
    this.wrapped.free(ptr);
  }
}
