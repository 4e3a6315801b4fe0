import { MAX_ALIGNMENT, Malloc } from "@tsmalloc/malloc";
import { ErrorCode, LinearMemory, RegionOwner } from "@tsmalloc/memory";
import { describe, expect, it } from "vitest";
import { expectError, expectFilled, expectHeapOk, expectUnchanged, fill, MiB, snapshot } from "./helpers.ts";

const alignments = Array.from({ length: 17 }, (_, i) => 16 << i); // 16 .. 1 MiB

describe("memalign", () => {
  it("returns aligned, usable, freeable blocks for every alignment from 16 to 1 MiB", () => {
    const heap = new Malloc();
    const memory = heap.memory;
    for (const alignment of alignments) {
      for (const n of [0, 1, 24, 100, 5000, 70_000]) {
        const p = heap.memalign(alignment, n);
        expect(p).not.toBe(0);
        expect(p % alignment).toBe(0);
        expect(heap.usableSize(p)).toBeGreaterThanOrEqual(Math.max(n, 1));
        fill(memory, p, n, 0x31);
        expectHeapOk(heap);
        heap.free(p);
      }
    }
    expect(heap.stats().allocatedBlocks).toBe(0);
    expectHeapOk(heap);
  });

  it("keeps many aligned blocks apart and intact", () => {
    const heap = new Malloc();
    const memory = heap.memory;
    const blocks: [number, number, number][] = [];
    for (let i = 0; i < 120; i++) {
      const alignment = alignments[i % 9]!;
      const n = 1 + ((i * 37) % 700);
      const p = heap.memalign(alignment, n);
      expect(p % alignment).toBe(0);
      fill(memory, p, heap.usableSize(p), 1 + (i % 250));
      blocks.push([p, heap.usableSize(p), 1 + (i % 250)]);
    }
    for (const [p, n, byte] of blocks) expectFilled(memory, p, n, byte);
    expectHeapOk(heap);
    for (const [p] of blocks) heap.free(p);
    // every gap given back in front of an aligned block was merged again
    const stats = heap.stats();
    expect(stats.allocatedBlocks).toBe(0);
    expect(stats.freeBlocks).toBe(stats.segments);
    expectHeapOk(heap);
  });

  it("serves a small aligned request from the heap and gives the unused front back", () => {
    const heap = new Malloc();
    const free = heap.stats().freeBytes;
    const p = heap.memalign(4096, 100);
    expect(p % 4096).toBe(0);
    expect(heap.memory.pageOwner(p)).toBe(RegionOwner.Malloc);
    expect(heap.usableSize(p)).toBeLessThanOrEqual(100 + 15);
    // only the block itself (and at most a header for the front gap) left the free space
    expect(free - heap.stats().freeBytes).toBeLessThanOrEqual(112 + 8);
    heap.free(p);
    expectHeapOk(heap);
  });

  it("serves an alignment that does not fit below the mmap threshold with a large block", () => {
    const heap = new Malloc();
    for (const alignment of [MiB, 2 * MiB, 16 * MiB]) {
      const p = heap.memalign(alignment, 100);
      expect(p % alignment).toBe(0);
      expect(heap.memory.pageOwner(p)).toBe(RegionOwner.MallocLarge);
      expect(heap.stats().largeBlocks).toBe(1);
      fill(heap.memory, p, heap.usableSize(p), 0x32);
      expectHeapOk(heap);
      heap.free(p);
      expect(heap.stats().largeBlocks).toBe(0);
    }
    // a threshold of 4 KiB sends 4 KiB alignments to regions of their own
    const low = new Malloc(new LinearMemory(), { mmapThreshold: 4096 });
    const q = low.memalign(4096, 10);
    expect(q % 4096).toBe(0);
    expect(low.memory.pageOwner(q)).toBe(RegionOwner.MallocLarge);
    low.free(q);
    expectHeapOk(low);
    expectHeapOk(heap);
  });

  it("handles alignments up to 2^30 where the memory allows", () => {
    const heap = new Malloc();
    for (const alignment of [2 ** 24, 2 ** 28, MAX_ALIGNMENT]) {
      const p = heap.memalign(alignment, 1000);
      expect(p).not.toBe(0);
      expect(p % alignment).toBe(0);
      fill(heap.memory, p, 1000, 0x33);
      const q = heap.realloc(p, 2000);
      expectFilled(heap.memory, q, 1000, 0x33);
      heap.free(q);
      expectHeapOk(heap);
    }
    expect(MAX_ALIGNMENT).toBe(2 ** 30);
    // a 4 MiB memory cannot hold a 2^30-aligned block: NULL, and nothing changes
    const small = new Malloc(new LinearMemory({ buffer: new ArrayBuffer(4 << 20) }));
    const before = snapshot(small);
    expect(small.memalign(MAX_ALIGNMENT, 16)).toBe(0);
    expect(small.memalign(4 * MiB, 16)).toBe(0);
    expectUnchanged(small, before);
  });

  it("makes blocks that realloc keeps, moves and frees like any other", () => {
    const heap = new Malloc();
    const memory = heap.memory;
    for (const alignment of [64, 4096, 65536, 2 * MiB]) {
      const p = heap.memalign(alignment, 300);
      fill(memory, p, 300, 0x34);
      const shrunk = heap.realloc(p, 100);
      // a heap block shrinks in place; a large one moves into the heap below the threshold
      if (alignment < MiB) expect(shrunk).toBe(p);
      else expect(heap.memory.pageOwner(shrunk)).toBe(RegionOwner.Malloc);
      expectFilled(memory, shrunk, 100, 0x34);
      const grown = heap.realloc(shrunk, 200_000);
      expectFilled(memory, grown, 100, 0x34);
      const large = heap.realloc(grown, 3 * MiB);
      expectFilled(memory, large, 100, 0x34);
      heap.free(large);
      expectHeapOk(heap);
    }
    expect(heap.stats().allocatedBlocks).toBe(0);
  });

  it("treats alignments up to 16 as malloc", () => {
    const heap = new Malloc();
    for (const alignment of [1, 2, 4, 8, 16]) {
      const p = heap.memalign(alignment, 40);
      expect(p % 16).toBe(0);
      expect(heap.usableSize(p)).toBe(40);
      heap.free(p);
    }
    const zero = heap.memalign(256, 0);
    expect(zero).not.toBe(0);
    expect(heap.usableSize(zero)).toBeGreaterThanOrEqual(1);
    heap.free(zero);
    expectHeapOk(heap);
  });

  it("throws ERR_TSMALLOC_INVALID_ALIGNMENT for an alignment that is not a power of two up to 2^30", () => {
    const heap = new Malloc();
    const p = heap.malloc(10);
    const before = snapshot(heap);
    for (const alignment of [0, 3, 24, 48, 1000, 2 ** 30 + 16, 2 ** 31, 2 ** 32, 2 ** 33, -16, -1, 1.5, NaN, Infinity, "64", 64n, undefined, null, {}, [64]]) {
      const error = expectError(() => heap.memalign(alignment as number, 100), ErrorCode.InvalidAlignment);
      expect(error.message).toContain("memalign");
    }
    // checked before the size
    expectError(() => heap.memalign(3, NaN), ErrorCode.InvalidAlignment);
    expectUnchanged(heap, before);
    heap.free(p);
  });
});
