import { DEFAULT_SEGMENT_SIZE, Malloc } from "@tsmalloc/malloc";
import { ErrorCode, LinearMemory, type Region, RegionOwner } from "@tsmalloc/memory";
import { prng } from "@tsmalloc/testkit";
import { describe, expect, it } from "vitest";
import { expectError, expectFilled, expectHeapOk, fill, MiB, regionsOf, SEGMENT } from "./helpers.ts";

function segmentsOf(memory: LinearMemory): Region[] {
  return regionsOf(memory, RegionOwner.Malloc);
}

function inRegion(p: number, region: Region): boolean {
  return p >= region.address && p < region.address + region.size;
}

/** A heap whose first segment is followed by another region, so that it cannot grow in place. */
function blockedHeap(options: { mmapThreshold?: number; segmentSize?: number } = {}, bytes = 4 << 20): Malloc {
  const memory = new LinearMemory({ buffer: new ArrayBuffer(bytes) });
  const heap = new Malloc(memory, options);
  const [first] = segmentsOf(memory);
  expect(memory.map(65536)).toBe(first!.address + first!.size);
  return heap;
}

describe("heap growth", () => {
  it("extends a segment in place when the pages after it are free", () => {
    expect(DEFAULT_SEGMENT_SIZE).toBe(SEGMENT);
    const heap = new Malloc();
    const memory = heap.memory;
    const [first] = segmentsOf(memory);
    expect(first!.size).toBe(SEGMENT);
    const blocks: number[] = [];
    for (let i = 0; i < 200; i++) {
      const p = heap.malloc(10_000);
      fill(memory, p, 10_000, 1 + i);
      blocks.push(p);
    }
    const stats = heap.stats();
    expect(stats.segments).toBe(1);
    const segments = segmentsOf(memory);
    expect(segments).toHaveLength(1);
    expect(segments[0]!.address).toBe(first!.address);
    expect(segments[0]!.size).toBe(stats.segmentBytes);
    expect(stats.segmentBytes).toBeGreaterThanOrEqual(200 * 10_016);
    blocks.forEach((p, i) => {
      expect(inRegion(p, segments[0]!)).toBe(true);
      expectFilled(memory, p, 10_000, 1 + i);
    });
    expectHeapOk(heap);
    for (const p of blocks) heap.free(p);
    // the extended segment is the first one: it stays, as one free block
    expect(heap.stats()).toMatchObject({ allocatedBlocks: 0, freeBlocks: 1, segments: 1 });
    expectHeapOk(heap);
  });

  it("extends in place by the segment size, or a 64th of the heap when that is more: a small free tail (issue 15)", () => {
    const heap = new Malloc();
    const memory = heap.memory;
    // each extension adds max(256 KiB, heap / 64, the request) rounded up to pages; the heap's
    // free tail after each one is less than that step
    const sizes: number[] = [segmentsOf(memory)[0]!.size];
    for (let i = 0; i < 12_000; i++) {
      expect(heap.malloc(4000)).not.toBe(0);
      const size = segmentsOf(memory)[0]!.size;
      if (size !== sizes.at(-1)) sizes.push(size);
    }
    expect(segmentsOf(memory)).toHaveLength(1);
    for (let i = 1; i < sizes.length; i++) {
      const step = Math.ceil(Math.max(SEGMENT, sizes[i - 1]! / 64) / 65536) * 65536;
      expect(sizes[i]! - sizes[i - 1]!).toBe(step);
    }
    // 12,000 blocks of 4,016 bytes: 46 MiB, reached by steps of 256 KiB, then 64ths of the heap
    expect(sizes.at(-1)!).toBeGreaterThan(46 * MiB);
    expect(sizes.length).toBeGreaterThan(100);
    const stats = heap.stats();
    expect(stats.freeBytes).toBeLessThan(Math.max(SEGMENT, stats.segmentBytes / 64));
    expectHeapOk(heap);
  });

  it("maps a new segment of an eighth of the heap when the segment cannot grow in place", () => {
    const heap = new Malloc();
    const memory = heap.memory;
    for (let i = 0; i < 4000; i++) expect(heap.malloc(4000)).not.toBe(0);
    const [first] = segmentsOf(memory);
    expect(first!.size).toBeGreaterThan(15 * MiB);
    memory.map(65536);
    let p = 0;
    do p = heap.malloc(4000);
    while (segmentsOf(memory).length === 1);
    const second = segmentsOf(memory)[1]!;
    expect(inRegion(p, second)).toBe(true);
    expect(second.size).toBe(Math.ceil(first!.size / 8 / 65536) * 65536);
    expectHeapOk(heap);
  });

  it("maps a new segment when another region follows the newest one", () => {
    const memory = new LinearMemory();
    const heap = new Malloc(memory);
    const [first] = segmentsOf(memory);
    const blocker = memory.map(65536);
    expect(blocker).toBe(first!.address + first!.size);
    const blocks: number[] = [];
    for (let i = 0; i < 40; i++) {
      const p = heap.malloc(10_000);
      expect(p).not.toBe(0);
      fill(memory, p, 10_000, 1 + i);
      blocks.push(p);
    }
    const segments = segmentsOf(memory);
    expect(heap.stats().segments).toBe(2);
    expect(segments).toHaveLength(2);
    expect(segments[1]!.address).toBeGreaterThan(blocker);
    expect(heap.stats().segmentBytes).toBe(segments[0]!.size + segments[1]!.size);
    for (const p of blocks) expect(segments.some((s) => inRegion(p, s))).toBe(true);
    expect(blocks.some((p) => inRegion(p, segments[1]!))).toBe(true);
    blocks.forEach((p, i) => expectFilled(memory, p, 10_000, 1 + i));
    expectHeapOk(heap);
    for (const p of blocks) heap.free(p);
    expectHeapOk(heap);
  });

  it("grows the lowest segment that can grow into the pages after it, closing a gap before it grows the memory", () => {
    const memory = new LinearMemory();
    const heap = new Malloc(memory);
    const [first] = segmentsOf(memory);
    const blocker = memory.map(4 * 65536);
    expect(blocker).toBe(first!.address + first!.size);
    // fill the first segment and force a second one, mapped after the blocker
    const blocks: number[] = [];
    while (heap.stats().segments < 2) {
      const p = heap.malloc(20_000);
      fill(memory, p, 20_000, 1 + (blocks.length % 250));
      blocks.push(p);
    }
    const [, second] = segmentsOf(memory);
    expect(second!.address).toBeGreaterThan(blocker);
    // the blocker goes: the first segment can now grow into its pages, the second into new memory
    memory.unmap(blocker);
    const bytesBefore = memory.byteLength;
    for (let i = 0; i < 200 && segmentsOf(memory)[0]!.size === first!.size; i++) {
      const p = heap.malloc(20_000);
      expect(p).not.toBe(0);
      fill(memory, p, 20_000, 1 + (blocks.length % 250));
      blocks.push(p);
    }
    const after = segmentsOf(memory);
    expect(after).toHaveLength(2);
    expect(after[0]!.address).toBe(first!.address);
    expect(after[0]!.size).toBeGreaterThan(first!.size);
    expect(after[0]!.address + after[0]!.size).toBeLessThanOrEqual(second!.address);
    expect(inRegion(blocks.at(-1)!, after[0]!)).toBe(true);
    expect(memory.byteLength).toBe(bytesBefore);
    blocks.forEach((p, i) => expectFilled(memory, p, 20_000, 1 + (i % 250)));
    expectHeapOk(heap);
    for (const p of blocks) heap.free(p);
    expectHeapOk(heap);
  });

  it("maps a new segment large enough for the request that needed it", () => {
    // sizes just below a free-list boundary once page-rounded are the hard case: the new
    // segment's block must land on a list that the search for the request looks at
    const sizes = [255_992, 253_960, 262_000, 565_240, 589_000, 655_000, 1_000_000, MiB - 1];
    const random = prng(7);
    for (let i = 0; i < 40; i++) sizes.push(SEGMENT + Math.floor(random() * (MiB - SEGMENT)));
    for (const n of sizes) {
      const heap = blockedHeap();
      const p = heap.malloc(n);
      expect(p, `malloc(${n})`).not.toBe(0);
      expect(heap.usableSize(p)).toBeGreaterThanOrEqual(n);
      expect(heap.stats().segments).toBe(2);
      expectHeapOk(heap);
      heap.free(p);
      expectHeapOk(heap);
    }
  });

  it("grows enough for requests below a high mmap threshold, in place or in a new segment", () => {
    const random = prng(8);
    const sizes = [2 * MiB + 65536 - 8, 2 * MiB + 1, 3 * MiB - 100, 5 * MiB + 65536 - 8];
    for (let i = 0; i < 12; i++) sizes.push(MiB + Math.floor(random() * 6 * MiB));
    for (const n of sizes) {
      for (const blocked of [false, true]) {
        const heap = blocked
          ? blockedHeap({ mmapThreshold: 16 * MiB }, 16 << 20)
          : new Malloc(new LinearMemory({ buffer: new ArrayBuffer(16 << 20) }), { mmapThreshold: 16 * MiB });
        // a block at the segment's end: growth in place cannot merge with free space there
        const last = heap.malloc(16);
        const p = heap.malloc(n);
        expect(p, `malloc(${n}), ${blocked ? "new segment" : "extension"}`).not.toBe(0);
        heap.free(last);
        expect(heap.stats().segments).toBe(blocked ? 2 : 1);
        expectHeapOk(heap);
      }
    }
  });
});

describe("wholly free segments", () => {
  /** A heap of 64 KiB segments with three segments, each holding one 40 000-byte block. */
  function threeSegments(): { heap: Malloc; memory: LinearMemory; blocks: number[]; segments: Region[] } {
    const memory = new LinearMemory();
    const heap = new Malloc(memory, { segmentSize: 65536 });
    const blocks: number[] = [];
    for (let i = 0; i < 3; i++) {
      if (i > 0) {
        // another region right after the newest segment: the heap must map a new one
        const newest = segmentsOf(memory).at(-1)!;
        expect(memory.map(65536)).toBe(newest.address + newest.size);
      }
      blocks.push(heap.malloc(40_000));
    }
    const segments = segmentsOf(memory);
    expect(segments).toHaveLength(3);
    blocks.forEach((p, i) => expect(inRegion(p, segments[i]!)).toBe(true));
    expect(heap.stats().segments).toBe(3);
    expectHeapOk(heap);
    return { heap, memory, blocks, segments };
  }

  it("keeps one for reuse and unmaps a second", () => {
    const { heap, memory, blocks, segments } = threeSegments();
    heap.free(blocks[1]!);
    // the second segment is wholly free: kept
    expect(segmentsOf(memory)).toEqual(segments);
    expect(heap.stats().segments).toBe(3);
    expectHeapOk(heap);
    heap.free(blocks[2]!);
    // the third is wholly free too: unmapped
    expect(segmentsOf(memory)).toEqual([segments[0], segments[1]]);
    expect(memory.regionAt(segments[2]!.address)).toBeNull();
    expect(heap.stats().segments).toBe(2);
    expectHeapOk(heap);
    // the first segment is never unmapped
    heap.free(blocks[0]!);
    expect(segmentsOf(memory)).toEqual([segments[0], segments[1]]);
    expect(heap.stats()).toMatchObject({ allocatedBlocks: 0, segments: 2, freeBlocks: 2 });
    expectHeapOk(heap);
  });

  it("keeps whichever empties first", () => {
    const { heap, memory, blocks, segments } = threeSegments();
    heap.free(blocks[2]!);
    heap.free(blocks[1]!);
    expect(segmentsOf(memory)).toEqual([segments[0], segments[2]]);
    expectHeapOk(heap);
  });

  it("reuses the kept segment before mapping another, and keeps it again when it empties", () => {
    const { heap, memory, blocks, segments } = threeSegments();
    heap.free(blocks[1]!);
    heap.free(blocks[2]!);
    const regions = memory.regions();
    const p = heap.malloc(40_000);
    expect(inRegion(p, segments[1]!)).toBe(true);
    expect(memory.regions()).toEqual(regions);
    expectHeapOk(heap);
    heap.free(p);
    expect(segmentsOf(memory)).toEqual([segments[0], segments[1]]);
    expectHeapOk(heap);
    // a second block that needs a segment of its own maps one, and it is unmapped when freed
    const q = heap.malloc(40_000);
    const r = heap.malloc(40_000);
    expect(heap.stats().segments).toBe(3);
    heap.free(r);
    heap.free(q);
    expect(heap.stats().segments).toBe(2);
    expectHeapOk(heap);
  });
});

describe("options", () => {
  it("rejects out-of-range, non-integer and mistyped options with ERR_TSMALLOC_INVALID_OPTION", () => {
    const memory = new LinearMemory();
    const regions = memory.regions();
    const bad: unknown[] = [
      { mmapThreshold: 4095 },
      { mmapThreshold: 0 },
      { mmapThreshold: -1 },
      { mmapThreshold: 2 ** 28 + 1 },
      { mmapThreshold: 2 ** 32 },
      { mmapThreshold: 4096.5 },
      { mmapThreshold: NaN },
      { mmapThreshold: Infinity },
      { mmapThreshold: "4096" },
      { mmapThreshold: 4096n },
      { mmapThreshold: null },
      { mmapThreshold: true },
      { segmentSize: 65535 },
      { segmentSize: 0 },
      { segmentSize: -65536 },
      { segmentSize: 2 ** 28 + 1 },
      { segmentSize: 65536.5 },
      { segmentSize: NaN },
      { segmentSize: "65536" },
      { segmentSize: 65536n },
      { segmentSize: null },
      { register: "yes" },
      { register: 1 },
      { register: null },
      null,
      "options",
      5,
      true,
    ];
    for (const options of bad) {
      expectError(() => new Malloc(memory, options as never), ErrorCode.InvalidOption);
    }
    for (const notMemory of [{}, new ArrayBuffer(65536), "memory", 0, null]) {
      expectError(() => new Malloc(notMemory as never), ErrorCode.InvalidOption);
    }
    // nothing was mapped or recorded by a rejected constructor
    expect(memory.regions()).toEqual(regions);
    expect(memory.getRoot("mllc")).toBe(0);
  });

  it("accepts the bounds and rounds the segment size up to whole pages", () => {
    const memory = new LinearMemory();
    const low = new Malloc(memory, { mmapThreshold: 4096, segmentSize: 65536 });
    expect(low.mmapThreshold).toBe(4096);
    expect(low.stats().segmentBytes).toBe(65536);
    const odd = new Malloc(memory, { segmentSize: 100_000 });
    expect(odd.stats().segmentBytes).toBe(131_072);
    expect(memory.regionAt(odd.address)!.size).toBe(131_072);
    const high = new Malloc(memory, { mmapThreshold: 2 ** 28, segmentSize: 2 ** 28 });
    expect(high.mmapThreshold).toBe(2 ** 28);
    expect(high.stats().segmentBytes).toBe(2 ** 28);
    const p = high.malloc(100 * MiB);
    expect(memory.pageOwner(p)).toBe(RegionOwner.Malloc);
    high.free(p);
    for (const heap of [low, odd, high]) expectHeapOk(heap);
  });
});
