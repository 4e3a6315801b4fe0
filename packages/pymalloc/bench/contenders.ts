/*
 * The contenders of the pymalloc benchmarks, each made fresh for every run (see
 * @tsmalloc/testkit's bench harness): pymalloc over tsmalloc's Malloc (CPython's default
 * configuration: pymalloc for small blocks, malloc for the rest), the same with pointer checks
 * off, Malloc alone, and what a JavaScript user would pick otherwise: @thi.ng/malloc's MemPool on
 * one large buffer, and a `new Uint8Array(size)` per block that the garbage collector frees.
 */
import { Malloc } from "@tsmalloc/malloc";
import { LinearMemory } from "@tsmalloc/memory";
import { Pymalloc } from "@tsmalloc/pymalloc";
import type { BenchTarget, ContenderFactory } from "@tsmalloc/testkit";
import { MemPool } from "@thi.ng/malloc";

/** Bytes of the one buffer MemPool gets: enough for every workload's peak with room to spare. */
const THING_POOL_BYTES = 1 << 30;

class ThingPool implements BenchTarget {
  readonly #pool = new MemPool({ size: THING_POOL_BYTES, align: 16 });
  malloc(size: number): number {
    return this.#pool.malloc(size === 0 ? 1 : size);
  }
  calloc(nelem: number, elsize: number): number {
    return this.#pool.calloc(nelem * elsize || 1);
  }
  realloc(p: number, size: number): number {
    return this.#pool.realloc(p, size === 0 ? 1 : size);
  }
  free(p: number): void {
    this.#pool.free(p);
  }
}

/**
 * One Uint8Array per block. The benchmark loops deal in numeric handles, so handles index a
 * table of arrays (with a free list of handles); "free" drops the array for the collector.
 */
class TypedArrays implements BenchTarget {
  readonly #blocks: (Uint8Array | null)[] = [null];
  readonly #freeHandles: number[] = [];
  #store(block: Uint8Array): number {
    const handle = this.#freeHandles.pop();
    if (handle !== undefined) {
      this.#blocks[handle] = block;
      return handle;
    }
    this.#blocks.push(block);
    return this.#blocks.length - 1;
  }
  malloc(size: number): number {
    return this.#store(new Uint8Array(size));
  }
  calloc(nelem: number, elsize: number): number {
    return this.#store(new Uint8Array(nelem * elsize));
  }
  realloc(p: number, size: number): number {
    const old = this.#blocks[p]!;
    const block = new Uint8Array(size);
    block.set(old.length <= size ? old : old.subarray(0, size));
    this.#blocks[p] = block;
    return p;
  }
  free(p: number): void {
    this.#blocks[p] = null;
    this.#freeHandles.push(p);
  }
}

export const contenders: Record<string, ContenderFactory> = {
  "tsmalloc pymalloc": () => new Pymalloc(new Malloc(new LinearMemory())),
  "pymalloc, checks off": () => new Pymalloc(new Malloc(new LinearMemory()), { checks: false }),
  "pymalloc, shared": () => new Pymalloc(new Malloc(new LinearMemory({ shared: true }))),
  "tsmalloc malloc": () => new Malloc(new LinearMemory()),
  "@thi.ng/malloc MemPool": () => new ThingPool(),
  "new Uint8Array": () => new TypedArrays(),
};
