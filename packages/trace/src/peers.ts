/*
 * What a JavaScript user would pick instead of tsmalloc, as benchmark contenders: @thi.ng/malloc's
 * MemPool on one large buffer, and a `new Uint8Array(size)` per block that the garbage collector
 * frees. `tsmalloc bench` and every package's benchmarks set them against tsmalloc.
 */
import { MemPool } from "@thi.ng/malloc";
import type { ReplayTarget } from "./replay-target.ts";

/** Bytes of the one buffer MemPool gets: enough for every workload's peak with room to spare. */
const THING_POOL_BYTES = 1 << 30;

/** @thi.ng/malloc's MemPool (16-byte aligned) on one 1 GiB ArrayBuffer, as a replay target; size 0 asks for 1 byte. */
export class ThingPoolTarget implements ReplayTarget {
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
  /** A trace's `m` event: the pool aligns every block to 16 bytes, and no further (0 beyond). */
  memalign(alignment: number, size: number): number {
    return alignment <= 16 ? this.malloc(size) : 0;
  }
}

/**
 * One Uint8Array per block. The benchmark loops deal in numeric handles, so handles index a
 * table of arrays (with a free list of handles); "free" drops the array for the collector.
 */
export class TypedArraysTarget implements ReplayTarget {
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
  /** A trace's `m` event: a handle has no address, so any alignment is met. */
  memalign(_alignment: number, size: number): number {
    return this.malloc(size);
  }
}
