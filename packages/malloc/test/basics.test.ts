import { Malloc } from "@tsmalloc/malloc";
import { LinearMemory, MAX_MEMORY_BYTES, RegionOwner } from "@tsmalloc/memory";
import { prng } from "@tsmalloc/testkit";
import { describe, expect, it } from "vitest";
import { blockSizeFor, expectFilled, expectHeapOk, expectUnchanged, fill, HEADER, MiB, snapshot } from "./helpers.ts";

describe("malloc", () => {
  it("returns 16-byte aligned blocks whose usable size is the request rounded up to a 16-byte block", () => {
    const heap = new Malloc();
    const sizes = [...Array.from({ length: 1100 }, (_, i) => i), 4095, 4096, 4097, 65535, 65536, 100_000, 262_144, MiB - 9, MiB - 1];
    for (const n of sizes) {
      const p = heap.malloc(n);
      expect(p).not.toBe(0);
      expect(p % 16).toBe(0);
      const usable = heap.usableSize(p);
      expect(usable).toBeGreaterThanOrEqual(Math.max(n, 1));
      expect(usable - Math.max(n, 1)).toBeLessThanOrEqual(15);
      // 8-byte header, blocks in 16-byte steps, at least 16 bytes
      expect(usable).toBe(blockSizeFor(n) - HEADER);
      expect(heap.memory.pageOwner(p)).toBe(RegionOwner.Malloc);
    }
    expectHeapOk(heap);
  });

  it("hands out blocks that never overlap and keep their contents", () => {
    const heap = new Malloc();
    const memory = heap.memory;
    const random = prng(42);
    const live = new Map<number, { size: number; byte: number }>();
    const overlapFree = (): void => {
      const blocks = [...live.keys()].sort((a, b) => a - b);
      for (let i = 1; i < blocks.length; i++) {
        const prev = blocks[i - 1]!;
        // a block occupies its header and its usable bytes
        expect(prev + heap.usableSize(prev)).toBeLessThanOrEqual(blocks[i]! - HEADER);
      }
    };
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < 300; i++) {
        const size = random() < 0.9 ? Math.floor(random() * 300) : Math.floor(random() * 20_000);
        const p = heap.malloc(size);
        expect(p).not.toBe(0);
        expect(live.has(p)).toBe(false);
        const byte = 1 + ((live.size + round * 7) % 255);
        // fill the whole usable size: a neighbour's header overlapping it would be destroyed
        fill(memory, p, heap.usableSize(p), byte);
        live.set(p, { size: heap.usableSize(p), byte });
      }
      overlapFree();
      for (const [p, block] of live) expectFilled(memory, p, block.size, block.byte);
      // free about half, then allocate again into the holes (deleting the visited entry is safe)
      for (const [p, block] of live) {
        if (random() < 0.5) {
          expectFilled(memory, p, block.size, block.byte);
          heap.free(p);
          live.delete(p);
        }
      }
      expectHeapOk(heap);
    }
    for (const [p, block] of live) {
      expectFilled(memory, p, block.size, block.byte);
      heap.free(p);
    }
    expect(heap.stats().allocatedBlocks).toBe(0);
    expectHeapOk(heap);
  });

  it("returns a unique non-NULL block for malloc(0), as CPython's raw allocator does", () => {
    const heap = new Malloc();
    const a = heap.malloc(0);
    const b = heap.malloc(0);
    expect(a).not.toBe(0);
    expect(b).not.toBe(0);
    expect(a).not.toBe(b);
    expect(heap.usableSize(a)).toBeGreaterThanOrEqual(1);
    expect(heap.usableSize(b)).toBeGreaterThanOrEqual(1);
    expect(heap.stats().allocatedBlocks).toBe(2);
    heap.free(a);
    heap.free(b);
    expect(heap.stats().allocatedBlocks).toBe(0);
    expectHeapOk(heap);
  });

  it("treats free(0) as a no-op", () => {
    const heap = new Malloc();
    const p = heap.malloc(100);
    const before = snapshot(heap);
    heap.free(0);
    heap.free(-0);
    expectUnchanged(heap, before);
    heap.free(p);
    expectHeapOk(heap);
  });

  it("returns 0 and changes nothing for sizes too large for any memory", () => {
    const heap = new Malloc();
    const p = heap.malloc(100);
    fill(heap.memory, p, 100, 0x5a);
    const before = snapshot(heap);
    for (const n of [2 ** 32, 2 ** 32 - 1, MAX_MEMORY_BYTES, 2 ** 40, Number.MAX_SAFE_INTEGER]) {
      expect(heap.malloc(n)).toBe(0);
      expect(heap.calloc(1, n)).toBe(0);
      expect(heap.calloc(n, 1)).toBe(0);
      expect(heap.memalign(64, n)).toBe(0);
      expect(heap.memalign(1 << 20, n)).toBe(0);
      expect(heap.realloc(p, n)).toBe(0);
      expect(heap.realloc(0, n)).toBe(0);
      expectUnchanged(heap, before);
    }
    expectFilled(heap.memory, p, 100, 0x5a);
    heap.free(p);
    expectHeapOk(heap);
  });
});

describe("calloc", () => {
  it("treats a zero count or size as calloc(1, 1)", () => {
    const heap = new Malloc();
    const reference = heap.calloc(1, 1);
    const blocks = [heap.calloc(0, 100), heap.calloc(100, 0), heap.calloc(0, 0)];
    for (const p of blocks) {
      expect(p).not.toBe(0);
      expect(heap.usableSize(p)).toBe(heap.usableSize(reference));
      expect(heap.memory.u8[p]).toBe(0);
    }
    expect(new Set([reference, ...blocks]).size).toBe(4);
    for (const p of [reference, ...blocks]) heap.free(p);
    expect(heap.stats().allocatedBlocks).toBe(0);
    expectHeapOk(heap);
  });

  it("zeroes memory that earlier blocks dirtied", () => {
    const heap = new Malloc();
    const memory = heap.memory;
    for (const n of [1, 8, 24, 100, 1000, 4096, 50_000]) {
      const p = heap.malloc(n);
      fill(memory, p, heap.usableSize(p), 0xff);
      heap.free(p);
      // the same block size is carved from the same place: the calloc lands on the dirty bytes
      const q = heap.calloc(1, n);
      expect(q).toBe(p);
      expectFilled(memory, q, n, 0);
      heap.free(q);
    }
    // many small dirty blocks merged into one free block, then one calloc over all of them
    const small = Array.from({ length: 64 }, () => heap.malloc(48));
    for (const p of small) fill(memory, p, 48, 0xee);
    const low = Math.min(...small);
    const high = Math.max(...small);
    for (const p of small) heap.free(p);
    const q = heap.calloc(64, 56);
    expect(q).toBeLessThanOrEqual(high);
    expect(q + 64 * 56).toBeGreaterThan(low);
    expectFilled(memory, q, 64 * 56, 0);
    heap.free(q);
    expectHeapOk(heap);
  });

  it("zeroes a large block placed where a freed large block was", () => {
    const heap = new Malloc();
    const p = heap.malloc(2 * MiB);
    fill(heap.memory, p, heap.usableSize(p), 0xab);
    heap.free(p);
    const q = heap.calloc(2, MiB);
    expect(q).toBe(p);
    expectFilled(heap.memory, q, 2 * MiB, 0);
    heap.free(q);
    expectHeapOk(heap);
  });

  it("returns 0 and changes nothing when the product overflows", () => {
    const heap = new Malloc();
    const before = snapshot(heap);
    for (const [nelem, elsize] of [
      [2 ** 20, 2 ** 20],
      [2 ** 16, 2 ** 16],
      [2 ** 31, 2],
      [65537, 65535],
      [Number.MAX_SAFE_INTEGER, 2],
      [2 ** 32, 2 ** 32],
    ] as const) {
      expect(heap.calloc(nelem, elsize)).toBe(0);
      expect(heap.calloc(elsize, nelem)).toBe(0);
    }
    expectUnchanged(heap, before);
  });
});

describe("realloc's CPython raw semantics", () => {
  it("treats realloc(p, 0) as realloc(p, 1): the block stays allocated", () => {
    const heap = new Malloc();
    const p = heap.malloc(100);
    heap.memory.u8[p] = 77;
    const q = heap.realloc(p, 0);
    expect(q).toBe(p);
    expect(heap.usableSize(q)).toBeGreaterThanOrEqual(1);
    expect(heap.usableSize(q)).toBe(heap.usableSize(heap.malloc(1)));
    expect(heap.memory.u8[q]).toBe(77);
    expect(heap.stats().allocatedBlocks).toBe(2);
    heap.free(q);
    expectHeapOk(heap);
  });

  it("treats realloc(0, n) as malloc(n)", () => {
    const heap = new Malloc();
    const p = heap.realloc(0, 1000);
    expect(p).not.toBe(0);
    expect(p % 16).toBe(0);
    expect(heap.usableSize(p)).toBe(blockSizeFor(1000) - HEADER);
    const zero = heap.realloc(0, 0);
    expect(zero).not.toBe(0);
    expect(zero).not.toBe(p);
    const large = heap.realloc(0, 2 * MiB);
    expect(heap.memory.pageOwner(large)).toBe(RegionOwner.MallocLarge);
    expect(heap.stats().allocatedBlocks).toBe(3);
    for (const q of [p, zero, large]) heap.free(q);
    expect(heap.stats().allocatedBlocks).toBe(0);
    expectHeapOk(heap);
  });
});

describe("a heap on every kind of memory", () => {
  const memories: [string, () => LinearMemory][] = [
    ["a growable WebAssembly.Memory", () => new LinearMemory()],
    ["a shared WebAssembly.Memory", () => new LinearMemory({ shared: true })],
    ["a fixed ArrayBuffer", () => new LinearMemory({ buffer: new ArrayBuffer(8 << 20) })],
    ["a resizable ArrayBuffer", () => new LinearMemory({ buffer: new ArrayBuffer(1 << 20, { maxByteLength: 64 << 20 }) })],
    ["a memory with host pages below base", () => new LinearMemory({ base: 4 * 65536 })],
  ];
  for (const [name, make] of memories) {
    it(`works on ${name}`, () => {
      const memory = make();
      const heap = new Malloc(memory);
      const blocks: [number, number][] = [];
      for (let i = 0; i < 200; i++) {
        const n = (i * 97) % 3000;
        const p = heap.malloc(n);
        expect(p).not.toBe(0);
        fill(memory, p, n, (i % 250) + 1);
        blocks.push([p, n]);
      }
      const large = heap.calloc(1, 2 * MiB);
      expect(large).not.toBe(0);
      expectFilled(memory, large, 2 * MiB, 0);
      blocks.forEach(([p, n], i) => expectFilled(memory, p, n, (i % 250) + 1));
      for (const [p] of blocks) heap.free(p);
      heap.free(large);
      expect(heap.stats().allocatedBlocks).toBe(0);
      expectHeapOk(heap);
    });
  }
});
