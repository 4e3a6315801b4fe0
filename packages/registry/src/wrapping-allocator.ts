import type { Allocator, AllocatorStats, HeapCheck, LinearMemory } from "@tsmalloc/memory";
import { ErrorCode, TsmallocError } from "@tsmalloc/memory";

/**
 * The base of a hook that a domain calls instead of the allocator it had (what
 * `PyMem_SetAllocator` installs over `PyMem_GetAllocator`'s result): it keeps the allocator it
 * wraps, and passes the optional calls on to it (`usableSize`, `owns`, `check`, `stats`), so that
 * a subclass writes only the four calls it changes.
 *
 *     runtime.setAllocator(Domain.MEM, new MyHook(runtime.getAllocator(Domain.MEM)))
 *
 *       domain ──> MyHook.malloc ──(its own work)──> wrapped.malloc
 *                  MyHook.check  ─────────────────────> wrapped.check
 *
 * The fault hooks of `setNoMemory` and `@tsmalloc/tracemalloc`'s hooks are built on it.
 */
export abstract class WrappingAllocator implements Allocator {
  /** The hook's name (`allocatorName()` and messages show it). */
  abstract readonly name: string;
  readonly memory: LinearMemory;
  /** The allocator the domain had when the hook was installed: the one every call ends in. */
  readonly wrapped: Allocator;

  /** @param wrapped the allocator the hook calls (`runtime.getAllocator(domain)`); its memory is the hook's */
  constructor(wrapped: Allocator) {
    this.wrapped = wrapped;
    this.memory = wrapped.memory;
  }

  abstract malloc(size: number): number;
  abstract calloc(nelem: number, elsize: number): number;
  abstract realloc(ptr: number, size: number): number;
  abstract free(ptr: number): void;

  /** The wrapped allocator's `usableSize(ptr)`. @throws TsmallocError (`ERR_TSMALLOC_INVALID_OPTION`) when it has none; whatever it throws */
  usableSize(ptr: number): number {
    const below = this.wrapped;
    if (typeof below.usableSize !== "function") throw this.#missing("usableSize");
    return below.usableSize(ptr);
  }

  /** The wrapped allocator's `owns(ptr)`; false when it has none. */
  owns(ptr: number): boolean {
    const below = this.wrapped;
    return typeof below.owns === "function" && below.owns(ptr);
  }

  /** The wrapped allocator's `check()`. @throws TsmallocError (`ERR_TSMALLOC_INVALID_OPTION`) when it has none */
  check(): HeapCheck {
    const below = this.wrapped;
    if (typeof below.check !== "function") throw this.#missing("check");
    return below.check();
  }

  /** The wrapped allocator's `stats()`. @throws TsmallocError (`ERR_TSMALLOC_INVALID_OPTION`) when it has none */
  stats(): AllocatorStats {
    const below = this.wrapped;
    if (typeof below.stats !== "function") throw this.#missing("stats");
    return below.stats();
  }

  #missing(what: string): TsmallocError {
    return new TsmallocError(ErrorCode.InvalidOption, `${what}: the allocator that the hook "${this.name}" wraps ("${this.wrapped.name}") has no ${what}()`);
  }
}
