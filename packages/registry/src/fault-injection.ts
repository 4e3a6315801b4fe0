import type { Allocator, AllocatorStats, HeapCheck, LinearMemory } from "@tsmalloc/memory";
import { checkOversize, ErrorCode, isValidSize, TsmallocError } from "@tsmalloc/memory";

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
export class FaultInjectionAllocator implements Allocator {
  readonly name: string = "nomemory";
  readonly memory: LinearMemory;
  /** The allocator the domain had before; `removeMemHooks` puts it back. */
  readonly wrapped: Allocator;
  readonly #counter: FaultCounter;

  constructor(wrapped: Allocator, counter: FaultCounter) {
    this.wrapped = wrapped;
    this.memory = wrapped.memory;
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

  usableSize(ptr: number): number {
    const below = this.wrapped;
    if (typeof below.usableSize !== "function") throw missing("usableSize", below);
    return below.usableSize(ptr);
  }

  owns(ptr: number): boolean {
    const below = this.wrapped;
    return typeof below.owns === "function" && below.owns(ptr);
  }

  check(): HeapCheck {
    const below = this.wrapped;
    if (typeof below.check !== "function") throw missing("check", below);
    return below.check();
  }

  stats(): AllocatorStats {
    const below = this.wrapped;
    if (typeof below.stats !== "function") throw missing("stats", below);
    return below.stats();
  }
}

function missing(what: string, allocator: Allocator): TsmallocError {
  return new TsmallocError(ErrorCode.InvalidOption, `${what}: the allocator under the fault hooks ("${allocator.name}") has no ${what}()`);
}
