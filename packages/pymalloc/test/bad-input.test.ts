/*
 * Bad input: every size and pointer pymalloc refuses, with the typed error the Allocator contract
 * documents, and the memory byte-identical and the heap valid after each refusal. Also the
 * constructor's and attach's validation.
 */
import { Malloc } from "@tsmalloc/malloc";
import { ErrorCode, LinearMemory, MAX_MEMORY_BYTES, RegionOwner, TsmallocError } from "@tsmalloc/memory";
import {
  carvedPools,
  inspectArenas,
  inspectPool,
  Pymalloc,
  type PymallocOptions,
} from "@tsmalloc/pymalloc";
import { beforeEach, describe, expect, it } from "vitest";
import { STATE_SALT_WORD, STATE_VERSION_WORD } from "../src/structs.ts";
import {
  expectError,
  expectFilled,
  expectHeapOk,
  expectUnchanged,
  fill,
  type Heap,
  makeHeap,
  snapshot,
} from "./helpers.ts";

const badSizes: unknown[] = [NaN, Infinity, -Infinity, -1, -16, -(2 ** 40), 1.5, 16.5, 2 ** 32 + 0.5, "16", "", 16n, 0n, undefined, null, {}, [16], true];
const badPointers: unknown[] = [NaN, -16, -1, 1.5, 16.5, "16", 16n, undefined, null, {}, [16], true, 2 ** 32, 2 ** 32 + 16, 2 ** 40, Infinity, -Infinity];
const hugeSizes: number[] = [2 ** 32, 2 ** 32 + 16, 2 ** 40, Number.MAX_SAFE_INTEGER];

/** A heap with pool blocks of several classes, raw blocks, and what the pointer tests aim at. */
interface Scene extends Heap {
  /** Three neighbouring 64-byte blocks (class 3) of one pool, the middle one is the target. */
  row: [number, number, number];
  p64: number;
  /** The pool holding `row`, and its size. */
  pool: number;
  poolSize: number;
  /** Pool blocks of other classes. */
  others: number[];
  /** A raw block (above the threshold) and the raw block of malloc(0). */
  large: number;
  zero: number;
}

function scene(options: PymallocOptions = {}): Scene {
  const heap = makeHeap(options);
  const { memory, obj } = heap;
  const row = [obj.malloc(64), obj.malloc(64), obj.malloc(64)] as [number, number, number];
  expect(row[1] - row[0]).toBe(64);
  expect(row[2] - row[1]).toBe(64);
  row.forEach((p, i) => fill(memory, p, 64, 0x41 + i));
  const others = [obj.malloc(1), obj.malloc(24), obj.malloc(500), obj.calloc(3, 10)];
  others.forEach((p, i) => fill(memory, p, 1, 0x51 + i));
  const large = obj.malloc(2000);
  fill(memory, large, 2000, 0x61);
  const zero = obj.malloc(0);
  expect(obj.owns(large)).toBe(false);
  expect(obj.owns(zero)).toBe(false);
  const poolSize = obj.layout.poolSize;
  const pool = row[1] - (row[1] % poolSize);
  return { ...heap, row, p64: row[1], pool, poolSize, others, large, zero };
}

/** Calls `fn` and expects `code` (and `address`), with every byte of the memory unchanged after. */
function refused(s: Heap, fn: () => unknown, code: ErrorCode, address?: number): void {
  const before = snapshot(s.memory);
  expectError(fn, code, address);
  expectUnchanged(s, before);
}

/** free, realloc (to a few sizes) and usableSize each refuse `p` with `code`, naming it. */
function refusedEverywhere(s: Heap, p: number, code: ErrorCode): void {
  const { obj } = s;
  refused(s, () => obj.free(p), code, p);
  refused(s, () => obj.realloc(p, 16), code, p);
  refused(s, () => obj.realloc(p, 64), code, p);
  refused(s, () => obj.realloc(p, 0), code, p);
  refused(s, () => obj.realloc(p, 5000), code, p);
  refused(s, () => obj.usableSize(p), code, p);
}

/**
 * free, realloc and usableSize each refuse `p`, a free block that was never handed out, as not a
 * live block (ERR_TSMALLOC_INVALID_POINTER, or ERR_TSMALLOC_DOUBLE_FREE since it is free), with
 * every byte unchanged.
 */
function refusedAsNotLive(s: Heap, p: number): void {
  const { obj } = s;
  for (const [name, fn] of [
    ["free", () => obj.free(p)],
    ["realloc", () => obj.realloc(p, 32)],
    ["usableSize", () => obj.usableSize(p)],
  ] as const) {
    const before = snapshot(s.memory);
    let error: unknown;
    try {
      fn();
    } catch (e) {
      error = e;
    }
    expect(error, `${name}(0x${p.toString(16)}) was accepted`).toBeInstanceOf(TsmallocError);
    expect([ErrorCode.InvalidPointer, ErrorCode.DoubleFree]).toContain((error as TsmallocError).code);
    expectUnchanged(s, before);
  }
}

describe("bad sizes", () => {
  let s: Scene;
  beforeEach(() => {
    s = scene();
  });

  it("throw ERR_TSMALLOC_INVALID_SIZE from every allocating call and change nothing", () => {
    const { obj } = s;
    for (const size of badSizes) {
      const n = size as number;
      refused(s, () => obj.malloc(n), ErrorCode.InvalidSize);
      refused(s, () => obj.calloc(n, 1), ErrorCode.InvalidSize);
      refused(s, () => obj.calloc(1, n), ErrorCode.InvalidSize);
      refused(s, () => obj.calloc(n, 0), ErrorCode.InvalidSize);
      refused(s, () => obj.calloc(0, n), ErrorCode.InvalidSize);
      refused(s, () => obj.calloc(n, n), ErrorCode.InvalidSize);
      refused(s, () => obj.realloc(0, n), ErrorCode.InvalidSize);
      refused(s, () => obj.realloc(s.p64, n), ErrorCode.InvalidSize);
      refused(s, () => obj.realloc(s.others[0]!, n), ErrorCode.InvalidSize);
      refused(s, () => obj.realloc(s.large, n), ErrorCode.InvalidSize);
      refused(s, () => obj.realloc(s.zero, n), ErrorCode.InvalidSize);
    }
  });

  it("name the function and the value in the message", () => {
    const { obj } = s;
    expect(expectError(() => obj.malloc(-1), ErrorCode.InvalidSize).message).toMatch(/malloc.*-1/);
    expect(expectError(() => obj.calloc(1, 1.5), ErrorCode.InvalidSize).message).toMatch(/calloc.*elsize.*1\.5/);
    expect(expectError(() => obj.calloc(NaN, 1), ErrorCode.InvalidSize).message).toMatch(/calloc.*nelem.*NaN/);
    expect(expectError(() => obj.realloc(s.p64, "16" as never), ErrorCode.InvalidSize).message).toMatch(/realloc.*"16"/);
    expect(expectError(() => obj.malloc(16n as never), ErrorCode.InvalidSize).message).toMatch(/malloc.*16n/);
    expectHeapOk(obj);
  });

  it("-0 is a size of 0", () => {
    const { obj, memory } = s;
    const p = obj.malloc(-0);
    expect(p).not.toBe(0);
    expect(obj.owns(p)).toBe(false); // malloc(0) goes to the raw allocator, as in CPython
    const q = obj.calloc(-0, 16);
    expect(q).not.toBe(0);
    expect(obj.owns(q)).toBe(false);
    const r = obj.calloc(4, -0);
    expect(r).not.toBe(0);
    // realloc(p, -0) moves a pool block to a raw block, as realloc(p, 0) does
    const moved = obj.realloc(s.row[0], -0);
    expect(moved).not.toBe(0);
    expect(obj.owns(moved)).toBe(false);
    for (const b of [p, q, r, moved]) obj.free(b);
    expectFilled(memory, s.p64, 64, 0x42);
    expectHeapOk(obj);
  });

  it("that are valid but larger than any memory return 0 and change nothing", () => {
    const { obj, memory } = s;
    for (const n of [...hugeSizes, MAX_MEMORY_BYTES + 1]) {
      const before = snapshot(memory);
      expect(obj.malloc(n)).toBe(0);
      expect(obj.calloc(n, 1)).toBe(0);
      expect(obj.calloc(1, n)).toBe(0);
      expect(obj.realloc(0, n)).toBe(0);
      // a failed realloc leaves the block where it was, with its contents
      expect(obj.realloc(s.p64, n)).toBe(0);
      expect(obj.realloc(s.others[2]!, n)).toBe(0);
      expect(obj.realloc(s.large, n)).toBe(0);
      expect(obj.realloc(s.zero, n)).toBe(0);
      expectUnchanged(s, before);
    }
    expectFilled(memory, s.p64, 64, 0x42);
    expectFilled(memory, s.large, 2000, 0x61);
    expect(obj.usableSize(s.p64)).toBe(64);
    // the heap still works
    const p = obj.malloc(64);
    expect(p).not.toBe(0);
    obj.free(p);
    expectHeapOk(obj);
  });

  it("calloc returns 0 when the product overflows the memory, and changes nothing", () => {
    const { obj, memory } = s;
    const before = snapshot(memory);
    for (const [nelem, elsize] of [
      [2 ** 16, 2 ** 16],
      [2 ** 16, 2 ** 16 + 16],
      [2 ** 31, 2],
      [2 ** 32 - 1, 2 ** 32 - 1],
      [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
      [MAX_MEMORY_BYTES / 16 + 1, 16],
      [3, Math.floor(MAX_MEMORY_BYTES / 3) + 1],
    ] as const) {
      expect(obj.calloc(nelem, elsize), `calloc(${nelem}, ${elsize})`).toBe(0);
      expect(obj.calloc(elsize, nelem), `calloc(${elsize}, ${nelem})`).toBe(0);
    }
    expectUnchanged(s, before);
  });

  it("calloc of a huge count of 0-byte elements is calloc of 0 bytes (a raw block)", () => {
    const { obj } = s;
    for (const [nelem, elsize] of [[2 ** 40, 0], [0, Number.MAX_SAFE_INTEGER]] as const) {
      const p = obj.calloc(nelem, elsize);
      expect(p).not.toBe(0);
      expect(obj.owns(p)).toBe(false);
      obj.free(p);
    }
    expectHeapOk(obj);
  });
});

describe("pointers that are not numbers or not addresses", () => {
  let s: Scene;
  beforeEach(() => {
    s = scene();
  });

  it("throw ERR_TSMALLOC_INVALID_POINTER from free, realloc and usableSize and change nothing", () => {
    const { obj } = s;
    for (const ptr of badPointers) {
      const p = ptr as number;
      refused(s, () => obj.free(p), ErrorCode.InvalidPointer);
      refused(s, () => obj.realloc(p, 16), ErrorCode.InvalidPointer);
      refused(s, () => obj.realloc(p, 0), ErrorCode.InvalidPointer);
      refused(s, () => obj.realloc(p, 5000), ErrorCode.InvalidPointer);
      // the pointer is looked at before the size
      refused(s, () => obj.realloc(p, -1), ErrorCode.InvalidPointer);
      refused(s, () => obj.usableSize(p), ErrorCode.InvalidPointer);
    }
  });

  it("name the function and the value in the message", () => {
    const { obj } = s;
    expect(expectError(() => obj.free(-1), ErrorCode.InvalidPointer).message).toMatch(/free.*-1/);
    expect(expectError(() => obj.realloc(1.5, 1), ErrorCode.InvalidPointer).message).toMatch(/realloc.*1\.5/);
    expect(expectError(() => obj.usableSize("32" as never), ErrorCode.InvalidPointer).message).toMatch(/usableSize.*"32"/);
  });

  it("free(0) is a no-op, realloc(0, n) is malloc(n); owns() is false for anything that is not an address", () => {
    const { obj, memory } = s;
    const before = snapshot(memory);
    obj.free(0);
    obj.free(-0);
    expectUnchanged(s, before);
    const p = obj.realloc(0, 40);
    expect(obj.owns(p)).toBe(true);
    expect(obj.usableSize(p)).toBe(48);
    obj.free(p);
    for (const ptr of badPointers) expect(obj.owns(ptr as number)).toBe(false);
    expect(obj.owns(0)).toBe(false);
    expect(obj.owns(s.p64)).toBe(true);
    expect(obj.owns(s.p64 + 1)).toBe(true); // address_in_range: any byte of an arena
    // usableSize(0) asks the raw allocator, which has no block at 0
    refused(s, () => obj.usableSize(0), ErrorCode.InvalidPointer);
  });

  it("usableSize of a raw block needs a raw allocator that can size its blocks", () => {
    const memory = new LinearMemory();
    const malloc = new Malloc(memory);
    const plain = {
      name: "plain",
      memory,
      malloc: (n: number) => malloc.malloc(n),
      calloc: (a: number, b: number) => malloc.calloc(a, b),
      realloc: (p: number, n: number) => malloc.realloc(p, n),
      free: (p: number) => malloc.free(p),
    };
    const obj = new Pymalloc(plain);
    const small = obj.malloc(100);
    const large = obj.malloc(1000);
    expect(obj.usableSize(small)).toBe(112);
    const error = expectError(() => obj.usableSize(large), ErrorCode.InvalidOption);
    expect(error.message).toContain('"plain"');
    obj.free(large);
    obj.free(small);
    expectHeapOk(obj);
  });
});

describe("pointers into an arena that are not live blocks", () => {
  let s: Scene;
  beforeEach(() => {
    s = scene();
  });

  it("inside a block are refused with ERR_TSMALLOC_INVALID_POINTER", () => {
    for (const offset of [1, 4, 8, 12, 15, 16, 32, 48, 63]) {
      const p = s.p64 + offset;
      expect(s.obj.owns(p)).toBe(true);
      refusedEverywhere(s, p, ErrorCode.InvalidPointer);
    }
    // the 500-byte request got a 512-byte block
    refusedEverywhere(s, s.others[2]! + 256, ErrorCode.InvalidPointer);
    refusedEverywhere(s, s.others[2]! + 496, ErrorCode.InvalidPointer);
    expect(s.obj.free.bind(s.obj, s.p64 + 16)).toThrow(/16 bytes into the 64-byte block/);
  });

  it("into a pool header are refused", () => {
    const { pool } = s;
    for (const p of [pool, pool + 8, pool + 16, pool + 32, pool + 47]) refusedEverywhere(s, p, ErrorCode.InvalidPointer);
    expect(s.obj.free.bind(s.obj, pool + 16)).toThrow(/header/);
  });

  it("to a never-carved block of a used pool are refused", () => {
    const { pool, poolSize, obj } = s;
    const info = inspectPool(obj, pool);
    expect(info.count).toBe(3);
    const overhead = obj.layout.poolOverhead;
    // the pool carves lazily: the 4th block is on the free list, the 5th and later never were
    for (const k of [4, 5, 100, Math.floor((poolSize - overhead) / 64) - 1]) {
      const p = pool + overhead + k * 64;
      expect(p).toBeGreaterThanOrEqual(pool + info.nextoffset);
      refusedEverywhere(s, p, ErrorCode.InvalidPointer);
    }
    expect(obj.free.bind(obj, pool + overhead + 5 * 64)).toThrow(/never allocated/);
    // the pool's quantization tail, past its last block
    refusedEverywhere(s, pool + poolSize - 16, ErrorCode.InvalidPointer);
  });

  it("to a carved block that was never handed out (the head of the free list) are refused", () => {
    // Pools carve lazily: the block after the last one handed out is carved (below nextoffset)
    // and sits on the free list, but was never allocated. It is not a live block.
    const { obj, pool } = s;
    const head = inspectPool(obj, pool).freeblock;
    expect(head).toBe(s.row[2] + 64);
    expect(head).toBeLessThan(pool + inspectPool(obj, pool).nextoffset);
    refusedAsNotLive(s, head);
    // the second block of a pool that has handed out only its first
    const first = obj.malloc(300);
    const second = first + 304;
    expect(inspectPool(obj, first - (first % s.poolSize)).freeblock).toBe(second);
    refusedAsNotLive(s, second);
  });

  it("to a carved, never handed out block cannot make a live block be handed out twice", () => {
    const { obj, memory } = makeHeap();
    const a = obj.malloc(64);
    fill(memory, a, 64, 0xaa);
    try {
      obj.free(a + 64); // the free list's head, never allocated: must be refused
    } catch {
      // refused: fine
    }
    // if it was taken for a's pool's last live block, the pool is now "empty" and the next new
    // pool (of any class) reuses it, handing out a again
    const others = Array.from({ length: 20 }, () => obj.malloc(200));
    for (const o of others) expect(o < a + 64 && a < o + 208, `block ${o} overlaps the live block ${a}`).toBe(false);
    expectFilled(memory, a, 64, 0xaa);
    expect(obj.allocatedBlocks()).toBe(21);
    expectHeapOk(obj);
  });

  it("into an empty pool (on its arena's freepools) are refused", () => {
    const { obj, memory } = s;
    // fill a pool of 256-byte blocks partly, then empty it: it goes to the arena's freepools
    const blocks = Array.from({ length: 10 }, () => obj.malloc(256));
    const pool = blocks[0]! - (blocks[0]! % s.poolSize);
    for (const b of blocks) expect(b - (b % s.poolSize)).toBe(pool);
    for (const b of blocks) obj.free(b);
    const [arena] = inspectArenas(obj).filter((a) => a.address !== 0);
    expect(arena!.freepools).toBe(pool);
    expect(inspectPool(obj, pool).count).toBe(0);
    const overhead = obj.layout.poolOverhead;
    // its header, the inside of a block and its never-carved blocks are not blocks
    for (const p of [pool, pool + 16, blocks[3]! + 16, pool + overhead + 11 * 256, pool + overhead + 40 * 256]) {
      refusedEverywhere(s, p, ErrorCode.InvalidPointer);
    }
    // its carved blocks were all freed: freeing one again is a double free
    for (const p of [blocks[0]!, blocks[5]!, blocks[9]!]) refusedEverywhere(s, p, ErrorCode.DoubleFree);
    // the rest of the heap is untouched
    expectFilled(memory, s.p64, 64, 0x42);
  });

  it("into a never-carved pool of an arena are refused", () => {
    const { obj } = s;
    const [arena] = inspectArenas(obj).filter((a) => a.address !== 0);
    const end = arena!.address + obj.layout.arenaSize;
    expect(arena!.poolAddress).toBeLessThan(end);
    const overhead = obj.layout.poolOverhead;
    for (const p of [arena!.poolAddress, arena!.poolAddress + overhead, arena!.poolAddress + overhead + 64, end - s.poolSize + overhead, end - 16]) {
      expect(obj.owns(p)).toBe(true);
      refusedEverywhere(s, p, ErrorCode.InvalidPointer);
    }
    expect(obj.free.bind(obj, arena!.poolAddress + overhead)).toThrow(/no pool in use/);
  });

  it("a live block whose data looks like the freed mark is still freed normally", () => {
    const { obj, memory } = s;
    // the freed mark is the block's second word: its own address xor the heap's salt
    const salt = memory.u32[(obj.address >>> 2) + STATE_SALT_WORD]!;
    const p = s.p64;
    memory.u32[(p >>> 2) + 1] = (p ^ salt) >>> 0;
    expect(obj.usableSize(p)).toBe(64);
    const q = obj.realloc(p, 60); // in place
    expect(q).toBe(p);
    obj.free(p);
    expectError(() => obj.free(p), ErrorCode.DoubleFree, p);
    expectHeapOk(obj);
  });
});

describe("double frees", () => {
  let s: Scene;
  beforeEach(() => {
    s = scene();
  });

  it("right after the free are refused with ERR_TSMALLOC_DOUBLE_FREE by free, realloc and usableSize", () => {
    const { obj, p64 } = s;
    obj.free(p64);
    const error = expectError(() => obj.free(p64), ErrorCode.DoubleFree, p64);
    expect(error.message).toContain("already freed");
    refusedEverywhere(s, p64, ErrorCode.DoubleFree);
  });

  it("after other frees and mallocs of the same class are refused", () => {
    const { obj, row } = s;
    const [a, p, b] = row;
    obj.free(p);
    obj.free(a);
    obj.free(b);
    // LIFO: b comes back, then a; p stays on the free list
    expect(obj.malloc(64)).toBe(b);
    expect(obj.malloc(50)).toBe(a);
    const c = obj.malloc(24);
    const d = obj.malloc(500);
    refusedEverywhere(s, p, ErrorCode.DoubleFree);
    // the next malloc of the class takes p: it is live again, and its next free is not a double free
    const more = Array.from({ length: 50 }, () => obj.malloc(64));
    expect(more[0]).toBe(p);
    more.shift();
    obj.free(p);
    // many frees of the class after p's: p sinks down the free list and stays freed
    for (const q of more.slice(0, 25)) obj.free(q);
    refusedEverywhere(s, p, ErrorCode.DoubleFree);
    more.splice(0, 25);
    for (const q of [...more, a, b, c, d]) obj.free(q);
    refusedEverywhere(s, a, ErrorCode.DoubleFree);
    refusedEverywhere(s, more[20]!, ErrorCode.DoubleFree);
    expectHeapOk(obj);
  });

  it("of the block that emptied its pool are refused", () => {
    const { obj } = s;
    const blocks = Array.from({ length: 3 }, () => obj.malloc(200));
    for (const b of blocks) obj.free(b);
    for (const b of blocks) refusedEverywhere(s, b, ErrorCode.DoubleFree);
  });

  it("of a block of a pool that was full when the block was freed are refused", () => {
    const { obj } = s;
    const perPool = Math.floor((s.poolSize - obj.layout.poolOverhead) / 512);
    // the scene's 500-byte block holds one block of the first pool of the class: fill that
    // pool, then a second one
    const blocks = Array.from({ length: 2 * perPool - 1 }, () => obj.malloc(512));
    const last = blocks.at(-1)!;
    const pool = last - (last % s.poolSize);
    const full = blocks.filter((b) => b - (b % s.poolSize) === pool);
    expect(full).toHaveLength(perPool);
    expect(inspectPool(obj, pool).freeblock).toBe(0);
    obj.free(full[7]!);
    refusedEverywhere(s, full[7]!, ErrorCode.DoubleFree);
    for (const b of blocks) if (b !== full[7]) obj.free(b);
    refusedEverywhere(s, full[7]!, ErrorCode.DoubleFree);
  });

  it("of a block moved by realloc are refused", () => {
    const { obj } = s;
    const p = s.p64;
    const grown = obj.realloc(p, 100);
    expect(grown).not.toBe(p);
    refusedEverywhere(s, p, ErrorCode.DoubleFree);
    const shrunk = obj.realloc(grown, 16);
    expect(shrunk).not.toBe(grown);
    refusedEverywhere(s, grown, ErrorCode.DoubleFree);
    expectFilled(s.memory, shrunk, 16, 0x42);
  });

  it("of a block whose arena was given back go to the raw allocator, which refuses them", () => {
    // 16 pools of 4 KiB per arena: 112 blocks of 512 bytes fill one; 7 more start a second
    const heap = makeHeap({ layout: { poolSize: 4096, arenaSize: 65536 } });
    const { obj } = heap;
    const blocks = Array.from({ length: 16 * 7 + 7 }, () => obj.malloc(512));
    for (const b of blocks) obj.free(b);
    // the first arena emptied while the second was still in use: it was released
    expect(obj.stats().arenasReclaimed).toBe(1);
    const [gone, kept] = [blocks[0]!, blocks.at(-1)!];
    expect(obj.owns(gone)).toBe(false);
    expect(obj.owns(kept)).toBe(true);
    for (const [p, code] of [[gone, ErrorCode.InvalidPointer], [kept, ErrorCode.DoubleFree]] as const) {
      refused(heap, () => obj.free(p), code, p);
      refused(heap, () => obj.realloc(p, 100), code, p);
      refused(heap, () => obj.usableSize(p), code, p);
    }
  });

  it("realloc(p, n) with a freed p and a size larger than any memory still refuses the pointer", () => {
    // The Allocator contract and Pymalloc.realloc's doc: a pointer that is not a live block throws.
    // Malloc checks the pointer before it answers 0 for a huge size.
    const { obj, p64 } = s;
    obj.free(p64);
    refused(s, () => obj.realloc(p64, 2 ** 40), ErrorCode.DoubleFree, p64);
    refused(s, () => obj.realloc(s.row[0] + 8, 2 ** 32), ErrorCode.InvalidPointer, s.row[0] + 8);
  });
});

describe("pointers outside the arenas", () => {
  let s: Scene;
  beforeEach(() => {
    s = scene();
  });

  it("go to the raw allocator, which refuses what is not one of its blocks", () => {
    const { obj, memory } = s;
    const user = memory.map(65536);
    for (const p of [user, user + 32, user + 4096, memory.byteLength, memory.byteLength + 65536, 2 ** 32 - 16, 16, 4096]) {
      expect(obj.owns(p)).toBe(false);
      refusedEverywhere(s, p, ErrorCode.InvalidPointer);
    }
    // the inside of a raw block
    refusedEverywhere(s, s.large + 16, ErrorCode.InvalidPointer);
    refusedEverywhere(s, s.large + 8, ErrorCode.InvalidPointer);
  });

  it("a freed raw block is the raw allocator's double free", () => {
    const { obj } = s;
    obj.free(s.large);
    refusedEverywhere(s, s.large, ErrorCode.DoubleFree);
  });

  it("a block of another pymalloc heap in the same memory is refused", () => {
    const { obj, memory, raw } = s;
    const other = new Pymalloc(raw, { register: false });
    const q = other.malloc(64);
    expect(obj.owns(q)).toBe(false);
    expect(other.owns(q)).toBe(true);
    expect(memory.pageOwner(q)).toBe(RegionOwner.Arena);
    refusedEverywhere(s, q, ErrorCode.InvalidPointer);
    other.free(q);
    expectHeapOk(other);
  });
});

describe("with an arena allocator that hands out dirty, unaligned arenas", () => {
  /**
   * Arenas 16 bytes past a pool boundary (so pymalloc loses a pool), in regions whose every
   * pool-sized chunk starts with a header that looks like a pool of 64-byte blocks in use.
   */
  function dirtyHeap(): Heap & { regions: number[] } {
    const memory = new LinearMemory();
    const raw = new Malloc(memory);
    const regions: number[] = [];
    let obj: Pymalloc | undefined;
    const arenaAllocator = {
      alloc(size: number): number {
        const poolSize = obj!.layout.poolSize;
        const region = memory.map(size + poolSize);
        if (region === 0) return 0;
        const u32 = memory.u32;
        for (let chunk = region; chunk < region + size + poolSize; chunk += poolSize) {
          const w = chunk >>> 2;
          u32[w] = 1; // ref.count
          u32[w + 2] = 0; // freeblock
          u32[w + 8] = 0; // arenaindex
          u32[w + 9] = 3; // szidx: 64-byte blocks
          u32[w + 10] = poolSize; // nextoffset: all carved
          u32[w + 11] = poolSize - 64;
        }
        regions.push(region);
        return region + 16;
      },
      free(address: number): void {
        memory.unmap(address - 16);
        regions.splice(regions.indexOf(address - 16), 1);
      },
    };
    obj = new Pymalloc(raw, { arenaAllocator });
    return { memory, raw, obj, regions };
  }

  it("pointers into the parts of an arena that hold no pool in use are refused", () => {
    const s = dirtyHeap();
    const { obj, memory } = s;
    const p = obj.malloc(64);
    fill(memory, p, 64, 0x33);
    const [arena] = inspectArenas(obj).filter((a) => a.address !== 0);
    const poolSize = obj.layout.poolSize;
    expect(arena!.address % poolSize).toBe(16);
    expect(arena!.ntotalpools).toBe(obj.layout.maxPoolsInArena - 1);
    const firstPool = arena!.address - 16 + poolSize;
    expect(p).toBe(firstPool + obj.layout.poolOverhead);
    const end = arena!.address + obj.layout.arenaSize;
    for (const q of [
      arena!.address + 32, // the partial pool before the first boundary: its "header" is below the arena
      arena!.address - 16 + 48 + 64,
      arena!.poolAddress + 48, // never-carved pools, with headers that look in use
      arena!.poolAddress + 48 + 64 * 10,
      end - poolSize + 48 - 16, // the last whole pool, never carved
      end - 16 - 64, // the last block of that pool
      end - 16, // the partial pool at the end: the arena's last 16 bytes
      end - 8,
    ]) {
      expect(obj.owns(q), `0x${q.toString(16)}`).toBe(true);
      refusedEverywhere(s, q, ErrorCode.InvalidPointer);
    }
    expectFilled(memory, p, 64, 0x33);
    obj.free(p);
    expectHeapOk(obj);
  });

  it("fill, empty and give back such arenas with the heap valid all along", () => {
    const s = dirtyHeap();
    const { obj } = s;
    const perArena = (obj.layout.maxPoolsInArena - 1) * Math.floor((obj.layout.poolSize - obj.layout.poolOverhead) / 512);
    const blocks = Array.from({ length: 2 * perArena + 1 }, () => obj.malloc(512));
    expect(blocks.every((b) => obj.owns(b))).toBe(true);
    expect(s.regions).toHaveLength(3);
    expectHeapOk(obj);
    for (const b of blocks) obj.free(b);
    expect(obj.allocatedBlocks()).toBe(0);
    expect(s.regions).toHaveLength(1);
    // a block of the kept arena is a double free; one of a released arena the raw allocator's
    refusedEverywhere(s, blocks.find((b) => obj.owns(b))!, ErrorCode.DoubleFree);
    refusedEverywhere(s, blocks.find((b) => !obj.owns(b))!, ErrorCode.InvalidPointer);
    expectHeapOk(obj);
  });
});

describe("without checks", () => {
  it("a double free inside an arena is not detected (and does not throw)", () => {
    const { obj, memory } = makeHeap({ checks: false });
    const p = obj.malloc(64);
    const q = obj.malloc(64);
    fill(memory, q, 64, 0x77);
    obj.free(p);
    expect(() => obj.free(p)).not.toThrow();
    // the free list now holds p twice; nothing about the heap's validity is promised
  });

  it("still refuses pointers that are not addresses and sizes that are not sizes", () => {
    const s = scene({ checks: false });
    refused(s, () => s.obj.free(-1), ErrorCode.InvalidPointer);
    refused(s, () => s.obj.malloc(1.5), ErrorCode.InvalidSize);
    // and a pointer outside the arenas still goes to the raw allocator, which refuses it
    refused(s, () => s.obj.free(s.large + 16), ErrorCode.InvalidPointer, s.large + 16);
  });
});

describe("constructor options", () => {
  let memory: LinearMemory;
  let raw: Malloc;
  beforeEach(() => {
    memory = new LinearMemory();
    raw = new Malloc(memory);
  });

  /** `make` throws ERR_TSMALLOC_INVALID_OPTION and neither memory nor root table changes. */
  function badOption(make: () => unknown, message?: RegExp): void {
    const before = snapshot(memory);
    const error = expectError(make, ErrorCode.InvalidOption);
    expect(error.message).toMatch(/^Pymalloc/);
    if (message !== undefined) expect(error.message).toMatch(message);
    expect(Buffer.compare(memory.u8, before)).toBe(0);
    expect(memory.getRoot("pyml")).toBe(0);
    expectHeapOk(raw);
  }

  it("refuse a raw allocator that is not an allocator", () => {
    const notRaw: unknown[] = [undefined, null, 0, "malloc", {}, memory, { memory }, { ...raw, memory: {} }];
    for (const r of notRaw) badOption(() => new Pymalloc(r as never), /raw must be an Allocator/);
    // an object with the four functions but no LinearMemory
    const fake = { name: "fake", memory: memory.buffer, malloc: () => 0, calloc: () => 0, realloc: () => 0, free: () => undefined };
    badOption(() => new Pymalloc(fake as never));
    // a LinearMemory but a missing function
    const partial = { name: "partial", memory, malloc: (n: number) => raw.malloc(n), calloc: (a: number, b: number) => raw.calloc(a, b), free: (p: number) => raw.free(p) };
    badOption(() => new Pymalloc(partial as never));
  });

  it("refuse options that are not an object, unknown options and options of the wrong type", () => {
    for (const options of [null, 5, "checks", true]) badOption(() => new Pymalloc(raw, options as never), /options must be an object/);
    badOption(() => new Pymalloc(raw, { check: true } as never), /unknown option "check"/);
    badOption(() => new Pymalloc(raw, { Checks: true } as never), /unknown option/);
    badOption(() => new Pymalloc(raw, { arena: {} } as never), /unknown option/);
    for (const checks of [1, 0, "yes", null, {}]) badOption(() => new Pymalloc(raw, { checks } as never), /checks must be a boolean/);
    for (const register of [1, "true", null]) badOption(() => new Pymalloc(raw, { register } as never), /register must be a boolean/);
    for (const onNewArena of [1, "f", {}, null]) badOption(() => new Pymalloc(raw, { onNewArena } as never), /onNewArena must be a function/);
  });

  it("refuse an arena allocator without alloc and free, in the constructor and in setArenaAllocator", () => {
    const bad: unknown[] = [null, 0, "mmap", {}, { alloc: () => 0 }, { free: () => undefined }, { alloc: 1, free: () => undefined }, { alloc: () => 0, free: "x" }];
    for (const arenaAllocator of bad) badOption(() => new Pymalloc(raw, { arenaAllocator } as never), /arena allocator/);
    const obj = new Pymalloc(raw);
    const before = obj.getArenaAllocator();
    for (const allocator of bad) expectError(() => obj.setArenaAllocator(allocator as never), ErrorCode.InvalidOption);
    expect(obj.getArenaAllocator()).toBe(before);
    const p = obj.malloc(16);
    expect(obj.owns(p)).toBe(true);
    expectHeapOk(obj);
  });

  it("refuse layouts that are not presets or break a rule", () => {
    const bad: unknown[] = [
      "python39",
      "",
      5,
      null,
      { alignment: 32 },
      { alignment: 4 },
      { smallRequestThreshold: 1024 },
      { smallRequestThreshold: 100 },
      { poolSize: 1000 },
      { poolSize: 2048 },
      { arenaSize: 2 ** 29 },
      { arenaSize: 32768 },
      { poolSize: 65536, arenaSize: 131072 },
      { poolSize: 16384, arenaSize: 16384 },
      { alignment: 16.5 },
      { alignment: "16" },
      { pools: 4 },
    ];
    for (const layout of bad) badOption(() => new Pymalloc(raw, { layout } as never), /layout/);
  });

  it("refuse a raw allocator that returns unaligned blocks, giving the block back", () => {
    // a raw allocator whose blocks are 8 bytes past a 16-byte boundary
    const skewed = {
      name: "skewed",
      memory,
      malloc: (n: number) => raw.malloc(n + 8) + 8,
      calloc: (a: number, b: number) => raw.calloc(1, a * b + 8) + 8,
      realloc: (p: number, n: number) => (p === 0 ? raw.malloc(n + 8) : raw.realloc(p - 8, n + 8)) + 8,
      free: (p: number) => raw.free(p === 0 ? 0 : p - 8),
    };
    const blocks = raw.stats().allocatedBlocks;
    const error = expectError(() => new Pymalloc(skewed), ErrorCode.InvalidOption);
    expect(error.message).toMatch(/16-byte aligned/);
    expect(raw.stats().allocatedBlocks).toBe(blocks);
    expect(memory.getRoot("pyml")).toBe(0);
    expectHeapOk(raw);
    // the layouts of 8-byte alignment ask only for 8 (32-bit C's malloc gives that much)
    const obj = new Pymalloc(skewed, { layout: "wasm32", register: false });
    expect(obj.address % 16).toBe(8);
    obj.free(obj.malloc(24));
    expectHeapOk(obj);
  });
});

describe("Pymalloc.attach misuse", () => {
  it("throws ERR_TSMALLOC_INCOMPATIBLE when no heap is recorded", () => {
    const memory = new LinearMemory();
    const raw = new Malloc(memory);
    const error = expectError(() => Pymalloc.attach(raw), ErrorCode.Incompatible);
    expect(error.message).toContain("no pymalloc heap is recorded");
    // a heap created with register: false is not found without its address
    const obj = new Pymalloc(raw, { register: false });
    expectError(() => Pymalloc.attach(raw), ErrorCode.Incompatible);
    expect(Pymalloc.attach(raw, obj.address).address).toBe(obj.address);
  });

  it("throws ERR_TSMALLOC_INCOMPATIBLE for an address that holds no heap or is not an address", () => {
    const { memory, raw, obj } = makeHeap();
    const block = obj.malloc(2000); // a raw block: zeros and whatever, no magic
    fill(memory, block, 2000, 0);
    const p = obj.malloc(64);
    const before = snapshot(memory);
    const addresses: unknown[] = [
      block,
      p,
      p - (p % obj.layout.poolSize),
      obj.address + 16,
      obj.address + 8, // not 16-byte aligned
      obj.address + 4,
      16,
      memory.byteLength,
      memory.byteLength - 64, // the state block would leave the memory
      2 ** 32 - 16,
      2 ** 32,
      NaN,
      -16,
      1.5,
      "32",
    ];
    for (const address of addresses) {
      expectError(() => Pymalloc.attach(raw, address as number), ErrorCode.Incompatible);
    }
    expect(expectError(() => Pymalloc.attach(raw, block), ErrorCode.Incompatible).message).toContain("no pymalloc heap at");
    expect(Buffer.compare(memory.u8, before)).toBe(0);
    expectHeapOk(obj);
  });

  it("throws ERR_TSMALLOC_INCOMPATIBLE for a heap whose magic or version was overwritten", () => {
    const memory = new LinearMemory({ buffer: new ArrayBuffer(8 << 20) });
    const obj = new Pymalloc(new Malloc(memory));
    obj.malloc(64);
    const copy = memory.buffer.slice(0);
    const words = new Uint32Array(copy);
    words[(obj.address >>> 2) + STATE_VERSION_WORD] = 99;
    const error = expectError(() => Pymalloc.attach(Malloc.attach(LinearMemory.attach(copy))), ErrorCode.Incompatible);
    expect(error.message).toContain("version 99");
    words[(obj.address >>> 2) + STATE_VERSION_WORD] = 1;
    expect(Pymalloc.attach(Malloc.attach(LinearMemory.attach(copy))).address).toBe(obj.address);
    words[obj.address >>> 2] = 0x12345678;
    expect(expectError(() => Pymalloc.attach(Malloc.attach(LinearMemory.attach(copy))), ErrorCode.Incompatible).message).toContain("no pymalloc heap");
  });

  it("refuses a heap whose layout words were overwritten", () => {
    const memory = new LinearMemory({ buffer: new ArrayBuffer(8 << 20) });
    const obj = new Pymalloc(new Malloc(memory));
    const copy = memory.buffer.slice(0);
    const words = new Uint32Array(copy);
    // the alignment word (the state block's third word)
    words[(obj.address >>> 2) + 2] = 32;
    const error = expectError(() => Pymalloc.attach(Malloc.attach(LinearMemory.attach(copy))), ErrorCode.Incompatible);
    expect(error.message).toContain("layout");
    expect(String((error.cause as Error).message)).toContain("alignment");
  });

  it("throws ERR_TSMALLOC_INVALID_OPTION for a raw that is not an allocator and for options attach cannot take", () => {
    const { memory, raw } = makeHeap();
    for (const r of [undefined, null, memory, {}, { memory: {} }]) {
      expectError(() => Pymalloc.attach(r as never), ErrorCode.InvalidOption);
    }
    expect(expectError(() => Pymalloc.attach(raw, undefined, { layout: "default" } as never), ErrorCode.InvalidOption).message).toContain("layout");
    expectError(() => Pymalloc.attach(raw, undefined, { nope: 1 } as never), ErrorCode.InvalidOption);
    expectError(() => Pymalloc.attach(raw, undefined, { checks: "no" } as never), ErrorCode.InvalidOption);
    expectError(() => Pymalloc.attach(raw, undefined, { arenaAllocator: {} } as never), ErrorCode.InvalidOption);
    // after a refused attach, the next constructor call makes a new heap (no attach state leaks)
    const fresh = new Pymalloc(raw, { register: false });
    expect(fresh.address).not.toBe(memory.getRoot("pyml"));
    expectHeapOk(fresh);
  });
});

describe("the scene itself", () => {
  it("has carved pools and live blocks of the expected classes (sanity for the tests above)", () => {
    const s = scene();
    const [arena] = inspectArenas(s.obj).filter((a) => a.address !== 0);
    // classes 0 (1 byte), 1 (24 and 3 * 10 bytes), 3 (64 bytes) and 31 (500 bytes)
    expect(carvedPools(s.obj, arena!)).toHaveLength(4);
    // 7 pool blocks and 2 raw ones
    expect(s.obj.allocatedBlocks()).toBe(9);
  });
});
