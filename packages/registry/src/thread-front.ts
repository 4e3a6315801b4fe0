import { type Allocator, type AllocatorStats, ErrorCode, type HeapCheck, isTsmallocError, type LinearMemory, TsmallocError } from "@tsmalloc/memory";
import type { Domain } from "./domain.ts";
import type { DomainTable } from "./raw-domain-allocator.ts";

/**
 * What a domain of a free-threaded runtime is in a thread before the thread's heaps exist (its
 * first call, and again after `close()`): every call first makes or opens the thread's heaps
 * (`bind`, which also puts them in the runtime's table in the front's place), then goes to the
 * domain's allocator over them. A hook installed over the front with `setAllocator` keeps
 * reaching the thread's heaps through it.
 *
 * A first call that finds no memory for the thread's new heaps fails as allocations do: malloc,
 * calloc and realloc return 0; free throws the `ERR_TSMALLOC_OUT_OF_MEMORY`.
 * @internal
 */
export class ThreadFront implements Allocator {
  /** The name of the allocator the domain will have (`"pymalloc"`, `"malloc_debug"`, ...). */
  readonly name: string;
  readonly memory: LinearMemory;
  readonly #domain: Domain;
  readonly #bind: () => DomainTable;

  constructor(name: string, memory: LinearMemory, domain: Domain, bind: () => DomainTable) {
    this.name = name;
    this.memory = memory;
    this.#domain = domain;
    this.#bind = bind;
  }

  malloc(size: number): number {
    const target = this.#target();
    return target === null ? 0 : target.malloc(size);
  }

  calloc(nelem: number, elsize: number): number {
    const target = this.#target();
    return target === null ? 0 : target.calloc(nelem, elsize);
  }

  realloc(ptr: number, size: number): number {
    const target = this.#target();
    return target === null ? 0 : target.realloc(ptr, size);
  }

  free(ptr: number): void {
    // free(0) does nothing in every allocator: no reason to make heaps (or claim a slot) for it
    if (ptr === 0) return;
    this.#bind()[this.#domain].free(ptr);
  }

  usableSize(ptr: number): number {
    const target = this.#bind()[this.#domain];
    if (typeof target.usableSize !== "function") throw new TsmallocError(ErrorCode.InvalidOption, `usableSize: the allocator "${target.name}" cannot size its blocks`);
    return target.usableSize(ptr);
  }

  owns(ptr: number): boolean {
    const target = this.#bind()[this.#domain];
    return typeof target.owns === "function" && target.owns(ptr);
  }

  check(): HeapCheck {
    const target = this.#bind()[this.#domain];
    if (typeof target.check !== "function") throw new TsmallocError(ErrorCode.InvalidOption, `check: the allocator "${target.name}" has no check()`);
    return target.check();
  }

  stats(): AllocatorStats {
    const target = this.#bind()[this.#domain];
    if (typeof target.stats !== "function") throw new TsmallocError(ErrorCode.InvalidOption, `stats: the allocator "${target.name}" has no stats()`);
    return target.stats();
  }

  /** The domain's allocator over the thread's heaps; null when the memory cannot hold new heaps. */
  #target(): Allocator | null {
    try {
      return this.#bind()[this.#domain];
    } catch (error) {
      if (isTsmallocError(error, ErrorCode.OutOfMemory)) return null;
      throw error;
    }
  }
}
