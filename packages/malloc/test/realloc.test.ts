import { Malloc } from "@tsmalloc/malloc";
import { ErrorCode, LinearMemory, RegionOwner } from "@tsmalloc/memory";
import { describe, expect, it } from "vitest";
import {
  blockSizeFor,
  expectError,
  expectFilled,
  expectHeapOk,
  expectUnchanged,
  fill,
  HEADER,
  LARGE_OFFSET,
  MiB,
  pages,
  regionsOf,
  snapshot,
} from "./helpers.ts";

describe("realloc of a heap block", () => {
  it("shrinks in place and gives the tail back to the heap", () => {
    const heap = new Malloc();
    const memory = heap.memory;
    const p = heap.malloc(1000);
    fill(memory, p, 1000, 0x11);
    const freeBefore = heap.stats().freeBytes;
    const q = heap.realloc(p, 100);
    expect(q).toBe(p);
    expect(heap.usableSize(q)).toBe(blockSizeFor(100) - HEADER);
    expectFilled(memory, q, 100, 0x11);
    const tail = blockSizeFor(1000) - blockSizeFor(100);
    expect(heap.stats().freeBytes).toBeGreaterThanOrEqual(freeBefore + tail - HEADER);
    // a block of exactly the tail's size is the tail
    const r = heap.malloc(tail - HEADER);
    expect(r).toBe(p + blockSizeFor(100));
    expectFilled(memory, q, 100, 0x11);
    heap.free(r);
    heap.free(q);
    expect(heap.stats().allocatedBlocks).toBe(0);
    expectHeapOk(heap);
  });

  it("keeps the address when shrinking leaves less than a minimum block", () => {
    const heap = new Malloc();
    const p = heap.malloc(100);
    const before = heap.usableSize(p);
    expect(heap.realloc(p, 100 - 4)).toBe(p);
    expect(heap.usableSize(p)).toBe(before);
    heap.free(p);
    expectHeapOk(heap);
  });

  it("grows in place into a free right neighbour", () => {
    const heap = new Malloc();
    const memory = heap.memory;
    // blocks are carved from the end of the free space: a is above b
    const a = heap.malloc(1000);
    const b = heap.malloc(100);
    expect(b + blockSizeFor(100)).toBe(a);
    fill(memory, b, 100, 0x22);
    heap.free(a);
    const q = heap.realloc(b, 900);
    expect(q).toBe(b);
    expect(heap.usableSize(q)).toBe(blockSizeFor(900) - HEADER);
    expectFilled(memory, q, 100, 0x22);
    expectHeapOk(heap);
    // the rest of a's block is still free and usable
    const rest = blockSizeFor(1000) + blockSizeFor(100) - blockSizeFor(900);
    expect(heap.malloc(rest - HEADER)).toBe(b + blockSizeFor(900));
    expectHeapOk(heap);
  });

  it("grows in place into a free neighbour that was merged with its own right neighbour", () => {
    const heap = new Malloc();
    const a = heap.malloc(200);
    const b = heap.malloc(200);
    const c = heap.malloc(200);
    heap.free(a);
    heap.free(b);
    fill(heap.memory, c, 200, 0x33);
    const q = heap.realloc(c, 600);
    expect(q).toBe(c);
    expectFilled(heap.memory, q, 200, 0x33);
    heap.free(q);
    expect(heap.stats().allocatedBlocks).toBe(0);
    expectHeapOk(heap);
  });

  it("moves the block when its neighbour is in use, keeping the contents and freeing the old block", () => {
    const heap = new Malloc();
    const memory = heap.memory;
    const a = heap.malloc(100);
    const b = heap.malloc(100);
    fill(memory, b, 100, 0x44);
    const q = heap.realloc(b, 5000);
    expect(q).not.toBe(b);
    expect(q).not.toBe(0);
    expectFilled(memory, q, 100, 0x44);
    expect(heap.usableSize(q)).toBeGreaterThanOrEqual(5000);
    expect(heap.stats().allocatedBlocks).toBe(2);
    expectError(() => heap.usableSize(b), ErrorCode.DoubleFree, b);
    // the old block is free: a block of its size can be had there again
    expect(heap.malloc(100)).toBe(b);
    heap.free(a);
    heap.free(q);
    expectHeapOk(heap);
  });

  it("moves a heap block to a large block when it reaches the mmap threshold", () => {
    const heap = new Malloc();
    const memory = heap.memory;
    const p = heap.malloc(1000);
    fill(memory, p, 1000, 0x55);
    const q = heap.realloc(p, MiB);
    expect(memory.pageOwner(q)).toBe(RegionOwner.MallocLarge);
    expect(q % 16).toBe(0);
    expectFilled(memory, q, 1000, 0x55);
    expect(heap.usableSize(q)).toBeGreaterThanOrEqual(MiB);
    const stats = heap.stats();
    expect(stats.largeBlocks).toBe(1);
    expect(stats.allocatedBlocks).toBe(1);
    expectError(() => heap.free(p), ErrorCode.DoubleFree, p);
    heap.free(q);
    expectHeapOk(heap);
  });
});

describe("realloc of a large block", () => {
  it("moves it back into the heap when it shrinks below the threshold", () => {
    const heap = new Malloc();
    const memory = heap.memory;
    const p = heap.malloc(2 * MiB);
    fill(memory, p, 2 * MiB, 0x66);
    const q = heap.realloc(p, 3000);
    expect(memory.pageOwner(q)).toBe(RegionOwner.Malloc);
    expectFilled(memory, q, 3000, 0x66);
    expect(heap.usableSize(q)).toBe(blockSizeFor(3000) - HEADER);
    expect(regionsOf(memory, RegionOwner.MallocLarge)).toEqual([]);
    expect(heap.stats().largeBlocks).toBe(0);
    heap.free(q);
    expectHeapOk(heap);
  });

  it("shrinks in place while it stays above the threshold, unmapping the tail pages", () => {
    const heap = new Malloc();
    const memory = heap.memory;
    const p = heap.malloc(4 * MiB);
    fill(memory, p, 4 * MiB, 0x77);
    const q = heap.realloc(p, MiB + 5);
    expect(q).toBe(p);
    expectFilled(memory, q, MiB + 5, 0x77);
    const [region] = regionsOf(memory, RegionOwner.MallocLarge);
    expect(region).toEqual({ address: p - LARGE_OFFSET, size: pages(MiB + 5 + LARGE_OFFSET), owner: RegionOwner.MallocLarge });
    expect(heap.usableSize(q)).toBe(region!.size - LARGE_OFFSET);
    expect(heap.stats().largeBytes).toBe(region!.size);
    heap.free(q);
    expectHeapOk(heap);
  });

  it("grows in place by remapping its region when the pages after it are free", () => {
    const heap = new Malloc();
    const memory = heap.memory;
    const p = heap.malloc(MiB);
    fill(memory, p, MiB, 0x78);
    const q = heap.realloc(p, 5 * MiB);
    expect(q).toBe(p);
    expectFilled(memory, q, MiB, 0x78);
    expect(heap.usableSize(q)).toBeGreaterThanOrEqual(5 * MiB);
    expect(memory.regionAt(q)).toEqual({ address: p - LARGE_OFFSET, size: pages(5 * MiB + LARGE_OFFSET), owner: RegionOwner.MallocLarge });
    // the new bytes are usable
    fill(memory, q, 5 * MiB, 0x79);
    expectHeapOk(heap);
    heap.free(q);
    expectHeapOk(heap);
  });

  it("moves it when another region follows it, unmapping the old region", () => {
    const heap = new Malloc();
    const memory = heap.memory;
    const p = heap.malloc(MiB);
    fill(memory, p, MiB, 0x7a);
    const blocker = memory.map(65536);
    expect(blocker).toBe(memory.regionAt(p)!.address + memory.regionAt(p)!.size);
    const q = heap.realloc(p, 3 * MiB);
    expect(q).not.toBe(p);
    expectFilled(memory, q, MiB, 0x7a);
    expect(regionsOf(memory, RegionOwner.MallocLarge)).toEqual([memory.regionAt(q)]);
    expectError(() => heap.free(p), ErrorCode.DoubleFree, p);
    heap.free(q);
    memory.unmap(blocker);
    expectHeapOk(heap);
  });
});

describe("realloc failure", () => {
  function fixedHeap(): Malloc {
    return new Malloc(new LinearMemory({ buffer: new ArrayBuffer(4 << 20) }));
  }

  it("returns 0 and leaves a heap block intact and allocated", () => {
    const heap = fixedHeap();
    const memory = heap.memory;
    const p = heap.malloc(1000);
    fill(memory, p, 1000, 0x88);
    const before = snapshot(heap);
    expect(heap.realloc(p, 8 << 20)).toBe(0);
    // more than the 59 free pages of the memory
    expect(heap.realloc(p, 60 * 65536)).toBe(0);
    expectUnchanged(heap, before);
    expectFilled(memory, p, 1000, 0x88);
    expect(heap.usableSize(p)).toBe(blockSizeFor(1000) - HEADER);
    heap.free(p);
    expectHeapOk(heap);
  });

  it("returns 0 when the heap cannot grow, leaving the block intact", () => {
    const heap = fixedHeap();
    const memory = heap.memory;
    const p = heap.malloc(1000);
    fill(memory, p, 1000, 0x99);
    // fill the rest of the memory with 64 KiB blocks
    const filler: number[] = [];
    for (let q = heap.malloc(65536); q !== 0; q = heap.malloc(65536)) filler.push(q);
    expect(filler.length).toBeGreaterThan(10);
    const before = snapshot(heap);
    expect(heap.realloc(p, 200_000)).toBe(0);
    expectUnchanged(heap, before);
    expectFilled(memory, p, 1000, 0x99);
    // with room again, the same realloc moves the block
    for (const q of filler) heap.free(q);
    const q = heap.realloc(p, 200_000);
    expect(q).not.toBe(0);
    expectFilled(memory, q, 1000, 0x99);
    expectHeapOk(heap);
  });

  it("returns 0 for a large block that can grow neither in place nor elsewhere", () => {
    const heap = fixedHeap();
    const memory = heap.memory;
    const p = heap.malloc(MiB);
    fill(memory, p, MiB, 0xaa);
    memory.map(65536);
    const before = snapshot(heap);
    // 3 MiB do not fit in what the 4 MiB memory has left, and the pages after p are taken
    expect(heap.realloc(p, 3 * MiB)).toBe(0);
    expectUnchanged(heap, before);
    expectFilled(memory, p, MiB, 0xaa);
    heap.free(p);
    expectHeapOk(heap);
  });
});
