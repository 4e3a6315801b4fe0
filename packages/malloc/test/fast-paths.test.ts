/*
 * The hot paths' shortcuts, each held to the rule it must not bend: short copies and zeroings go
 * word by word (rounded up to whole words) and must stay inside the block; free() accepts the
 * common used block with one word compare and must still refuse every damaged header.
 */
import { Malloc } from "@tsmalloc/malloc";
import { ErrorCode, LinearMemory, RegionOwner } from "@tsmalloc/memory";
import { describe, expect, it } from "vitest";
import { expectError, expectFilled, expectHeapOk, fill, HEADER, MiB, thrown } from "./helpers.ts";

/** Sizes around the word-by-word limit (64 bytes), every one from 0 to 96. */
const SHORT_SIZES: readonly number[] = Array.from({ length: 97 }, (_, i) => i);

/**
 * Three blocks in a row of `n` bytes, the outer two filled with canaries: whatever the middle one
 * does must leave them intact.
 */
function row(heap: Malloc, n: number): { left: number; middle: number; right: number } {
  const [left, middle, right] = [heap.malloc(n), heap.malloc(n), heap.malloc(n)] as [number, number, number];
  fill(heap.memory, left, heap.usableSize(left), 0xa1);
  fill(heap.memory, right, heap.usableSize(right), 0xa3);
  return { left, middle, right };
}

describe("calloc's zeroing", () => {
  it("zeroes every byte asked for over dirty memory, for each size from 0 to 96, and nothing past the block", () => {
    const heap = new Malloc();
    const memory = heap.memory;
    for (const n of SHORT_SIZES) {
      const { left, middle, right } = row(heap, n);
      fill(memory, middle, heap.usableSize(middle), 0xee);
      heap.free(middle);
      // the block just freed comes back (its list's first block), dirty
      const p = heap.calloc(1, n);
      expect(p).toBe(middle);
      expectFilled(memory, p, n, 0);
      expectFilled(memory, left, heap.usableSize(left), 0xa1);
      expectFilled(memory, right, heap.usableSize(right), 0xa3);
      // the right neighbour's header and check word are untouched: it frees normally
      for (const q of [left, p, right]) heap.free(q);
      expectHeapOk(heap);
    }
  });

  it("zeroes nelem * elsize bytes for products around the word-by-word limit", () => {
    const heap = new Malloc();
    for (const [nelem, elsize] of [[1, 63], [63, 1], [8, 8], [1, 65], [13, 5], [2, 33]] as const) {
      const dirty = heap.malloc(nelem * elsize);
      fill(heap.memory, dirty, heap.usableSize(dirty), 0x77);
      heap.free(dirty);
      const p = heap.calloc(nelem, elsize);
      expect(p).toBe(dirty);
      expectFilled(heap.memory, p, nelem * elsize, 0);
      heap.free(p);
    }
    expectHeapOk(heap);
  });
});

describe("realloc's copy", () => {
  it("keeps every byte when a block of each size from 1 to 96 moves, and writes nothing past the new block", () => {
    const heap = new Malloc();
    const memory = heap.memory;
    for (const n of SHORT_SIZES) {
      if (n === 0) continue;
      // the block cannot grow in place (its right neighbour is used), so it moves
      const { left, middle, right } = row(heap, n);
      for (let i = 0; i < n; i++) memory.u8[middle + i] = (i * 7 + n) & 0xff;
      const fence = row(heap, 200);
      const q = heap.realloc(middle, n + 200);
      expect(q).not.toBe(middle);
      for (let i = 0; i < n; i++) expect(memory.u8[q + i]).toBe((i * 7 + n) & 0xff);
      expectFilled(memory, left, heap.usableSize(left), 0xa1);
      expectFilled(memory, right, heap.usableSize(right), 0xa3);
      expectFilled(memory, fence.left, heap.usableSize(fence.left), 0xa1);
      expectFilled(memory, fence.right, heap.usableSize(fence.right), 0xa3);
      // the block it left is taken (so that the next move lands beside other neighbours), then up
      // into a large block, and back down into a block of exactly n bytes: the copy fills it
      const plug = heap.malloc(n);
      fill(memory, plug, heap.usableSize(plug), 0xa5);
      const large = heap.realloc(q, MiB);
      expect(heap.memory.pageOwner(large)).toBe(RegionOwner.MallocLarge);
      const back = heap.realloc(large, n);
      expect(heap.memory.pageOwner(back)).toBe(RegionOwner.Malloc);
      for (let i = 0; i < n; i++) expect(memory.u8[back + i]).toBe((i * 7 + n) & 0xff);
      // a word past the block would have hit the next block's header or check word
      expectHeapOk(heap);
      expectFilled(memory, plug, heap.usableSize(plug), 0xa5);
      for (const p of [left, right, back, plug, fence.left, fence.middle, fence.right]) heap.free(p);
      expectHeapOk(heap);
    }
  });
});

describe("free's one-compare acceptance", () => {
  it("still refuses every single-bit flip of the heap's very first block's header", () => {
    const heap = new Malloc();
    const memory = heap.memory;
    // blocks carved from the end of the first segment's free block until it is short, then that
    // block taken whole: the heap's first block, used
    const carved: number[] = [];
    while (heap.stats().largestFreeBlock >= 256) carved.push(heap.malloc(heap.stats().largestFreeBlock / 2));
    const first = heap.malloc(heap.stats().largestFreeBlock - HEADER);
    expect(heap.stats()).toMatchObject({ freeBlocks: 0, segments: 1 });
    expect(first).toBeLessThan(Math.min(...carved));
    const w = (first >>> 2) - 1;
    const header = memory.u32[w]!;
    // its FIRST flag (4): with it cleared the header is the bare size and the check word still
    // holds, which only the first-block rule refuses
    expect(header & 15).toBe(4);
    for (let bit = 0; bit < 32; bit++) {
      memory.u32[w] = (header ^ (1 << bit)) >>> 0;
      const before = memory.u8.slice();
      const error = thrown(() => heap.free(first));
      expect([ErrorCode.Corruption, ErrorCode.InvalidPointer, ErrorCode.DoubleFree], `bit ${bit}: ${error.message}`).toContain(error.code);
      expect(error.address).toBe(first);
      expect(Buffer.compare(memory.u8.slice(), before)).toBe(0);
      memory.u32[w] = header;
    }
    heap.free(first);
    for (const p of carved) heap.free(p);
    expectHeapOk(heap);
  });

  it("accepts used blocks behind used and free neighbours alike, and refuses them once freed", () => {
    const heap = new Malloc(new LinearMemory());
    const blocks = Array.from({ length: 8 }, (_, i) => heap.malloc(16 + i * 40));
    // free every other block: the rest have a free left neighbour (a boundary tag, not a check word)
    for (let i = 0; i < blocks.length; i += 2) heap.free(blocks[i]!);
    for (let i = 1; i < blocks.length; i += 2) expect(heap.usableSize(blocks[i]!)).toBeGreaterThanOrEqual(16 + i * 40);
    for (let i = 0; i < blocks.length; i += 2) expectError(() => heap.free(blocks[i]!), ErrorCode.DoubleFree, blocks[i]);
    for (let i = 1; i < blocks.length; i += 2) heap.free(blocks[i]!);
    for (const p of blocks) expectError(() => heap.free(p), ErrorCode.DoubleFree, p);
    expectHeapOk(heap);
  });
});
