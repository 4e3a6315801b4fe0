import { Malloc, type MallocStats } from "@tsmalloc/malloc";
import { LinearMemory } from "@tsmalloc/memory";
import { prng } from "@tsmalloc/testkit";
import { describe, expect, it } from "vitest";
import { blockSizeFor, expectHeapOk, HEADER, LARGE_OFFSET, MiB, pages, SEGMENT } from "./helpers.ts";

/** The first segment's first payload: segment header (32), heap header (1728), block header, rounded to 16. */
const FIRST_BLOCK = 1776;
/** Usable bytes of the single free block of a fresh heap: the segment after the first block's start. */
const FRESH_FREE = SEGMENT - FIRST_BLOCK - HEADER;

/** The identities every stats() result satisfies. */
function expectConsistent(stats: MallocStats): void {
  expect(stats.mappedBytes).toBe(stats.segmentBytes + stats.largeBytes);
  expect(stats.overheadBytes).toBe(stats.mappedBytes - stats.allocatedBytes - stats.freeBytes);
  expect(stats.overheadBytes).toBeGreaterThan(0);
  expect(stats.largestFreeBlock).toBeLessThanOrEqual(stats.freeBytes);
  expect(stats.freeBlocks === 0).toBe(stats.freeBytes === 0);
}

describe("stats()", () => {
  it("describes a fresh heap: one segment, one free block", () => {
    const heap = new Malloc();
    const stats = heap.stats();
    expect(stats).toEqual({
      allocatedBlocks: 0,
      allocatedBytes: 0,
      mappedBytes: SEGMENT,
      freeBytes: FRESH_FREE,
      freeBlocks: 1,
      largestFreeBlock: FRESH_FREE,
      segments: 1,
      segmentBytes: SEGMENT,
      largeBlocks: 0,
      largeBytes: 0,
      overheadBytes: SEGMENT - FRESH_FREE,
      remoteFreesPending: 0,
    });
    expectConsistent(stats);
  });

  it("follows a scripted sequence block by block", () => {
    const heap = new Malloc();
    const base = heap.stats();
    const a = heap.malloc(100); // 112-byte block, 104 usable
    let stats = heap.stats();
    expect(stats).toMatchObject({ allocatedBlocks: 1, allocatedBytes: 104, freeBlocks: 1, freeBytes: FRESH_FREE - 112, largestFreeBlock: FRESH_FREE - 112 });
    expect(stats.overheadBytes).toBe(base.overheadBytes + HEADER);
    expectConsistent(stats);

    const b = heap.malloc(1000); // 1008-byte block
    const c = heap.calloc(10, 10); // 112-byte block
    stats = heap.stats();
    expect(stats).toMatchObject({ allocatedBlocks: 3, allocatedBytes: 104 + 1000 + 104, freeBlocks: 1, freeBytes: FRESH_FREE - 112 - 1008 - 112 });
    expectConsistent(stats);

    // b sits between a and c: freeing it leaves a free block of its own
    heap.free(b);
    stats = heap.stats();
    expect(stats).toMatchObject({ allocatedBlocks: 2, allocatedBytes: 208, freeBlocks: 2, freeBytes: FRESH_FREE - 224 - HEADER });
    expect(stats.largestFreeBlock).toBe(FRESH_FREE - 224 - 1008);
    expectConsistent(stats);

    // realloc in place into b's space: still two blocks, one free block left over
    const c2 = heap.realloc(c, 500);
    expect(c2).toBe(c);
    stats = heap.stats();
    expect(stats.allocatedBytes).toBe(104 + blockSizeFor(500) - HEADER);
    expect(stats.freeBlocks).toBe(2);
    expectConsistent(stats);

    // a large block: counted in largeBlocks/largeBytes and in allocatedBytes with its usable size
    const large = heap.malloc(2 * MiB);
    stats = heap.stats();
    const region = pages(2 * MiB + LARGE_OFFSET);
    expect(stats).toMatchObject({ allocatedBlocks: 3, largeBlocks: 1, largeBytes: region, mappedBytes: SEGMENT + region });
    expect(stats.allocatedBytes).toBe(104 + blockSizeFor(500) - HEADER + region - LARGE_OFFSET);
    expectConsistent(stats);

    for (const p of [a, c2, large]) heap.free(p);
    expect(heap.stats()).toEqual(base);
    expectHeapOk(heap);
  });

  it("counts grown and added segments", () => {
    const memory = new LinearMemory();
    const heap = new Malloc(memory);
    const p = heap.malloc(200_000);
    const q = heap.malloc(200_000); // the segment grows in place
    let stats = heap.stats();
    expect(stats.segments).toBe(1);
    expect(stats.segmentBytes).toBe(memory.regionAt(p)!.size);
    expect(stats.segmentBytes).toBeGreaterThan(SEGMENT);
    memory.map(65536);
    const r = heap.malloc(500_000); // a new segment
    stats = heap.stats();
    expect(stats.segments).toBe(2);
    expect(stats.segmentBytes).toBe(memory.regionAt(p)!.size + memory.regionAt(r)!.size);
    expect(stats.allocatedBytes).toBe(heap.usableSize(p) + heap.usableSize(q) + heap.usableSize(r));
    expectConsistent(stats);
    for (const x of [p, q, r]) heap.free(x);
    expectHeapOk(heap);
  });

  it("sums usable sizes over any sequence", () => {
    const heap = new Malloc();
    const random = prng(11);
    const live: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const roll = random();
      if (roll < 0.55 || live.length === 0) {
        live.push(heap.malloc(random() < 0.99 ? Math.floor(random() * 3000) : MiB + Math.floor(random() * MiB)));
      } else if (roll < 0.7) {
        const at = Math.floor(random() * live.length);
        live[at] = heap.realloc(live[at]!, Math.floor(random() * 5000));
      } else {
        heap.free(live.splice(Math.floor(random() * live.length), 1)[0]!);
      }
      if (i % 100 === 0) {
        const stats = heap.stats();
        expect(stats.allocatedBlocks).toBe(live.length);
        expect(stats.allocatedBytes).toBe(live.reduce((sum, p) => sum + heap.usableSize(p), 0));
        expectConsistent(stats);
      }
    }
    expectHeapOk(heap);
  });
});
