import type { Allocator, AllocatorStats, HeapCheck, LinearMemory } from "@tsmalloc/memory";
import { ErrorCode, TsmallocError } from "@tsmalloc/memory";

/** The allocator each domain currently has: one object per runtime, read on every call. @internal */
export interface DomainTable {
  raw: Allocator;
  mem: Allocator;
  obj: Allocator;
}

/**
 * The raw allocator a runtime gives its pymalloc: every call goes to whatever allocator the RAW
 * domain has *at the time of the call*, as pymalloc's `PyMem_RawMalloc` calls do in CPython. So
 * under a debug configuration pymalloc's large blocks, its arenas vector and its arena map carry
 * `'r'` hooks (inside the `'m'` or `'o'` hooks of the block that was asked for), and fault
 * injection on RAW reaches pymalloc's own requests too.
 * @internal
 */
export class RawDomainAllocator implements Allocator {
  readonly name: string = "raw";
  readonly memory: LinearMemory;
  readonly #table: DomainTable;

  constructor(table: DomainTable, memory: LinearMemory) {
    this.#table = table;
    this.memory = memory;
  }

  malloc(size: number): number {
    return this.#table.raw.malloc(size);
  }

  calloc(nelem: number, elsize: number): number {
    return this.#table.raw.calloc(nelem, elsize);
  }

  realloc(ptr: number, size: number): number {
    return this.#table.raw.realloc(ptr, size);
  }

  free(ptr: number): void {
    this.#table.raw.free(ptr);
  }

  usableSize(ptr: number): number {
    const raw = this.#table.raw;
    if (typeof raw.usableSize !== "function") {
      throw new TsmallocError(ErrorCode.InvalidOption, `usableSize: the RAW domain's allocator "${raw.name}" cannot size its blocks`);
    }
    return raw.usableSize(ptr);
  }

  owns(ptr: number): boolean {
    const raw = this.#table.raw;
    return typeof raw.owns === "function" && raw.owns(ptr);
  }

  check(): HeapCheck {
    const raw = this.#table.raw;
    if (typeof raw.check !== "function") {
      throw new TsmallocError(ErrorCode.InvalidOption, `check: the RAW domain's allocator "${raw.name}" has no check()`);
    }
    return raw.check();
  }

  stats(): AllocatorStats {
    const raw = this.#table.raw;
    if (typeof raw.stats !== "function") {
      throw new TsmallocError(ErrorCode.InvalidOption, `stats: the RAW domain's allocator "${raw.name}" has no stats()`);
    }
    return raw.stats();
  }
}
