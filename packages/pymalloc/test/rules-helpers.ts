/*
 * Helpers for the tests of pymalloc's rules (layout, carving, arenas, realloc, raw fallback,
 * stats): building a heap, finding a block's pool and arena, counting what pymalloc asks of its
 * raw and arena allocators, byte patterns.
 */
import { Malloc } from "@tsmalloc/malloc";
import {
  type Allocator,
  type AllocatorStats,
  type HeapCheck,
  LinearMemory,
  type LinearMemoryOptions,
} from "@tsmalloc/memory";
import { expect } from "vitest";
import {
  type ArenaAllocator,
  type ArenaObjectInfo,
  inspectArenas,
  inspectPool,
  type PoolHeaderInfo,
  Pymalloc,
  type PymallocOptions,
  type PymallocStats,
} from "../src/index.ts";

/** One mebibyte: the default arena size. */
export const MiB: number = 1 << 20;
/** The default pool size. */
export const POOL: number = 16 << 10;
/** The default arena size. */
export const ARENA: number = MiB;
/** The default `POOL_OVERHEAD`. */
export const OVERHEAD = 48;
/** Bytes of one arena object (`struct arena_object`). */
export const ARENA_OBJECT = 48;

/** A heap: the memory, the raw allocator under pymalloc, and pymalloc. */
export interface Heap<R extends Allocator = Malloc> {
  readonly memory: LinearMemory;
  readonly raw: R;
  readonly obj: Pymalloc;
}

/** A fresh memory, a `Malloc` on it and a `Pymalloc` over that. */
export function makeHeap(options: PymallocOptions = {}, memoryOptions: LinearMemoryOptions = {}): Heap {
  const memory = new LinearMemory(memoryOptions);
  const raw = new Malloc(memory);
  const obj = new Pymalloc(raw, options);
  return { memory, raw, obj };
}

/** A fresh heap whose raw allocator is a {@link SpyRaw}. */
export function makeSpyHeap(options: PymallocOptions = {}): Heap<SpyRaw> {
  const memory = new LinearMemory();
  const raw = new SpyRaw(new Malloc(memory));
  const obj = new Pymalloc(raw, options);
  return { memory, raw, obj };
}

/** Expects `obj.check()` to find nothing wrong (showing the problems when it does). */
export function expectOk(obj: Pymalloc): void {
  const result: HeapCheck = obj.check();
  expect(result.problems).toEqual([]);
  expect(result.ok).toBe(true);
}

/** The pool that holds `p` (`POOL_ADDR`). */
export function poolOf(obj: Pymalloc, p: number): number {
  return p - (p % obj.layout.poolSize);
}

/** The decoded header of the pool that holds `p`. */
export function poolInfo(obj: Pymalloc, p: number): PoolHeaderInfo {
  return inspectPool(obj, poolOf(obj, p));
}

/** The arena slots that hold an arena, in index order. */
export function liveArenas(obj: Pymalloc): ArenaObjectInfo[] {
  return inspectArenas(obj).filter((a) => a.address !== 0);
}

/** The arena slot with index `index`. */
export function arenaAt(obj: Pymalloc, index: number): ArenaObjectInfo {
  const arena = inspectArenas(obj)[index];
  if (arena === undefined) throw new Error(`no arena slot ${index}`);
  return arena;
}

/** The arena slot of the arena that holds `p` (through its pool's `arenaindex`). */
export function arenaOf(obj: Pymalloc, p: number): ArenaObjectInfo {
  return arenaAt(obj, poolInfo(obj, p).arenaindex);
}

// the error expectations are the robustness tests' (one copy for the package)
export { expectError, thrown } from "./helpers.ts";

/** The byte a pattern with `seed` has at offset `i`. */
export function patternAt(seed: number, i: number): number {
  return (seed * 31 + i * 7 + (i >>> 8)) & 0xff;
}

/** Writes a pattern over `n` bytes at `p`. */
export function writePattern(memory: LinearMemory, p: number, n: number, seed: number): void {
  const u8 = memory.u8;
  for (let i = 0; i < n; i++) u8[p + i] = patternAt(seed, i);
}

/** Describes the first byte of `n` at `p` that differs from the pattern, or "intact". */
export function patternState(memory: LinearMemory, p: number, n: number, seed: number): string {
  const u8 = memory.u8;
  for (let i = 0; i < n; i++) {
    if (u8[p + i] !== patternAt(seed, i)) return `0x${p.toString(16)}+${i} is ${u8[p + i]}, expected ${patternAt(seed, i)}`;
  }
  return "intact";
}

/** Describes the first byte of `n` at `p` that is not `byte`, or "intact". */
export function filledState(memory: LinearMemory, p: number, n: number, byte: number): string {
  const u8 = memory.u8;
  for (let i = 0; i < n; i++) {
    if (u8[p + i] !== byte) return `0x${p.toString(16)}+${i} is ${u8[p + i]}, expected ${byte}`;
  }
  return "intact";
}

/** An arena allocator that records every call and passes it on to `inner`. */
export interface CountingArenaAllocator extends ArenaAllocator {
  /** `[size, returned address]` of every alloc. */
  readonly allocs: Array<[number, number]>;
  /** `[address, size]` of every free. */
  readonly frees: Array<[number, number]>;
  /** When true, alloc returns 0 without asking `inner`. */
  fail: boolean;
}

export function countingArenaAllocator(inner: ArenaAllocator): CountingArenaAllocator {
  const counter: CountingArenaAllocator = {
    allocs: [],
    frees: [],
    fail: false,
    alloc(size: number): number {
      const address = counter.fail ? 0 : inner.alloc(size);
      counter.allocs.push([size, address]);
      return address;
    },
    free(address: number, size: number): void {
      counter.frees.push([address, size]);
      inner.free(address, size);
    },
  };
  return counter;
}

/**
 * An arena allocator that returns arenas 4 KiB past a 1 MiB boundary, the way mmap returns
 * page-aligned (but not pool-aligned) memory: each arena loses one pool to alignment.
 */
export function misalignedArenaAllocator(memory: LinearMemory, offset = 4096): ArenaAllocator {
  return {
    alloc(size: number): number {
      const region = memory.map(size + offset, { alignment: size });
      return region === 0 ? 0 : region + offset;
    },
    free(address: number): void {
      memory.unmap(address - offset);
    },
  };
}

/** One call pymalloc made to its raw allocator. */
export type RawCall =
  | readonly ["malloc", number, number]
  | readonly ["calloc", number, number, number]
  | readonly ["realloc", number, number, number]
  | readonly ["free", number];

/**
 * A raw allocator that records the calls pymalloc makes and passes them to a real `Malloc`;
 * `fail` makes the named operations return 0 (out of memory) without touching the heap.
 */
export class SpyRaw implements Allocator {
  readonly name: string = "malloc";
  readonly memory: LinearMemory;
  readonly inner: Malloc;
  readonly calls: RawCall[] = [];
  readonly fail: Set<"malloc" | "calloc" | "realloc"> = new Set();

  constructor(inner: Malloc) {
    this.inner = inner;
    this.memory = inner.memory;
  }

  malloc(size: number): number {
    const p = this.fail.has("malloc") ? 0 : this.inner.malloc(size);
    this.calls.push(["malloc", size, p]);
    return p;
  }

  calloc(nelem: number, elsize: number): number {
    const p = this.fail.has("calloc") ? 0 : this.inner.calloc(nelem, elsize);
    this.calls.push(["calloc", nelem, elsize, p]);
    return p;
  }

  realloc(ptr: number, size: number): number {
    const p = this.fail.has("realloc") ? 0 : this.inner.realloc(ptr, size);
    this.calls.push(["realloc", ptr, size, p]);
    return p;
  }

  free(ptr: number): void {
    this.calls.push(["free", ptr]);
    this.inner.free(ptr);
  }

  usableSize(ptr: number): number {
    return this.inner.usableSize(ptr);
  }

  owns(ptr: number): boolean {
    return this.inner.owns(ptr);
  }

  check(): HeapCheck {
    return this.inner.check();
  }

  stats(): AllocatorStats {
    return this.inner.stats();
  }

  /** The recorded calls of one kind. */
  callsOf<K extends RawCall[0]>(kind: K): Array<Extract<RawCall, readonly [K, ...number[]]>> {
    return this.calls.filter((c): c is Extract<RawCall, readonly [K, ...number[]]> => c[0] === kind);
  }
}

/** The six byte lines of the stats, which must add up to `total`. */
export function byteLinesSum(stats: PymallocStats): number {
  return (
    stats.bytesInAllocatedBlocks +
    stats.bytesInAvailableBlocks +
    stats.unusedPools * stats.poolSize +
    stats.bytesLostToPoolHeaders +
    stats.bytesLostToQuantization +
    stats.bytesLostToArenaAlignment
  );
}

/**
 * Allocates blocks of `size` bytes until `pools` new pools of that class have been filled; returns
 * each pool's blocks in allocation order. Assumes the class has no pool with free blocks at start.
 */
export function fillPools(obj: Pymalloc, size: number, pools: number): number[][] {
  const out: number[][] = [];
  const perPool = Math.floor((obj.layout.poolSize - obj.layout.poolOverhead) / classSizeOf(obj, size));
  for (let i = 0; i < pools; i++) {
    const blocks: number[] = [];
    for (let j = 0; j < perPool; j++) {
      const p = obj.malloc(size);
      if (p === 0 || !obj.owns(p)) throw new Error(`malloc(${size}) did not return a pool block`);
      blocks.push(p);
    }
    out.push(blocks);
  }
  return out;
}

/** The block size of the class that serves `n` bytes. */
export function classSizeOf(obj: Pymalloc, n: number): number {
  return (((n - 1) >>> obj.layout.alignmentShift) + 1) << obj.layout.alignmentShift;
}

/** Frees every block of `blocks`, in order. */
export function freeAll(obj: Pymalloc, blocks: readonly number[]): void {
  for (const p of blocks) obj.free(p);
}
