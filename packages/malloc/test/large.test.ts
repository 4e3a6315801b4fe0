import { DEFAULT_MMAP_THRESHOLD, Malloc } from "@tsmalloc/malloc";
import { LinearMemory, RegionOwner } from "@tsmalloc/memory";
import { describe, expect, it } from "vitest";
import { expectFilled, expectHeapOk, fill, LARGE_OFFSET, MiB, pages, regionsOf } from "./helpers.ts";

describe("large blocks", () => {
  it("start at the default threshold of 1 MiB", () => {
    expect(DEFAULT_MMAP_THRESHOLD).toBe(MiB);
    const heap = new Malloc();
    expect(heap.mmapThreshold).toBe(MiB);
    const below = heap.malloc(MiB - 1);
    const at = heap.malloc(MiB);
    expect(heap.memory.pageOwner(below)).toBe(RegionOwner.Malloc);
    expect(heap.memory.pageOwner(at)).toBe(RegionOwner.MallocLarge);
    heap.free(below);
    heap.free(at);
    expectHeapOk(heap);
  });

  it("get a region each, owned by RegionOwner.MallocLarge, unmapped when freed", () => {
    const heap = new Malloc();
    const memory = heap.memory;
    const initial = memory.regions();
    const sizes = [MiB, MiB + 1, 3 * MiB - 100, 5 * MiB];
    const blocks = sizes.map((n) => heap.malloc(n));
    const regions = regionsOf(memory, RegionOwner.MallocLarge);
    expect(regions).toHaveLength(4);
    blocks.forEach((p, i) => {
      const region = memory.regionAt(p)!;
      expect(region.owner).toBe(RegionOwner.MallocLarge);
      expect(region.address).toBe(p - LARGE_OFFSET);
      expect(region.size).toBe(pages(sizes[i]! + LARGE_OFFSET));
      // a large block may use the rest of its last page
      expect(heap.usableSize(p)).toBe(region.size - LARGE_OFFSET);
      fill(memory, p, heap.usableSize(p), 0x40 + i);
    });
    blocks.forEach((p, i) => expectFilled(memory, p, heap.usableSize(p), 0x40 + i));
    expectHeapOk(heap);
    // free in a mixed order: each frees its own region and nothing else
    for (const i of [2, 0, 3, 1]) {
      const p = blocks[i]!;
      const region = memory.regionAt(p)!;
      heap.free(p);
      expect(memory.regionAt(region.address)).toBeNull();
      expectHeapOk(heap);
    }
    expect(memory.regions()).toEqual(initial);
  });

  it("are counted in stats().largeBlocks and largeBytes", () => {
    const heap = new Malloc();
    const base = heap.stats();
    expect(base.largeBlocks).toBe(0);
    expect(base.largeBytes).toBe(0);
    const a = heap.malloc(2 * MiB);
    const b = heap.calloc(3, MiB);
    const stats = heap.stats();
    const regionBytes = pages(2 * MiB + LARGE_OFFSET) + pages(3 * MiB + LARGE_OFFSET);
    expect(stats.largeBlocks).toBe(2);
    expect(stats.largeBytes).toBe(regionBytes);
    expect(stats.allocatedBlocks).toBe(2);
    expect(stats.allocatedBytes).toBe(heap.usableSize(a) + heap.usableSize(b));
    expect(stats.mappedBytes).toBe(stats.segmentBytes + regionBytes);
    expect(stats.segmentBytes).toBe(base.segmentBytes);
    heap.free(a);
    expect(heap.stats().largeBlocks).toBe(1);
    expect(heap.stats().largeBytes).toBe(pages(3 * MiB + LARGE_OFFSET));
    heap.free(b);
    expect(heap.stats()).toEqual(base);
    expectHeapOk(heap);
  });

  it("follow a custom mmapThreshold", () => {
    const heap = new Malloc(new LinearMemory(), { mmapThreshold: 4096 });
    expect(heap.mmapThreshold).toBe(4096);
    const small = heap.malloc(4095);
    const large = heap.malloc(4096);
    expect(heap.memory.pageOwner(small)).toBe(RegionOwner.Malloc);
    expect(heap.memory.pageOwner(large)).toBe(RegionOwner.MallocLarge);
    expect(heap.memory.regionAt(large)!.size).toBe(65536);
    // a heap block that grows past the threshold becomes large, and back
    const grown = heap.realloc(small, 10_000);
    expect(heap.memory.pageOwner(grown)).toBe(RegionOwner.MallocLarge);
    const shrunk = heap.realloc(grown, 100);
    expect(heap.memory.pageOwner(shrunk)).toBe(RegionOwner.Malloc);
    heap.free(shrunk);
    heap.free(large);
    expect(heap.stats().allocatedBlocks).toBe(0);
    expectHeapOk(heap);

    const high = new Malloc(new LinearMemory(), { mmapThreshold: 8 * MiB });
    const big = high.malloc(4 * MiB);
    expect(high.memory.pageOwner(big)).toBe(RegionOwner.Malloc);
    expect(high.stats().largeBlocks).toBe(0);
    high.free(big);
    expectHeapOk(high);
  });

  it("are zero when calloc'd and when fresh from a region", () => {
    const heap = new Malloc();
    const memory = heap.memory;
    const p = heap.malloc(3 * MiB);
    fill(memory, p, heap.usableSize(p), 0xcd);
    heap.free(p);
    const q = heap.calloc(MiB, 3);
    // the new region reuses the dirty pages of the old one
    expect(q).toBe(p);
    expectFilled(memory, q, heap.usableSize(q), 0);
    heap.free(q);
    expectHeapOk(heap);
  });
});
