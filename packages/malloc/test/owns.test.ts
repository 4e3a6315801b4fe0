import { Malloc } from "@tsmalloc/malloc";
import { LinearMemory, RegionOwner } from "@tsmalloc/memory";
import { describe, expect, it } from "vitest";
import { expectHeapOk, MiB, regionsOf } from "./helpers.ts";

describe("owns()", () => {
  it("is true for the heap's blocks, free space and headers, in every segment and large region", () => {
    const memory = new LinearMemory();
    const heap = new Malloc(memory);
    const small = heap.malloc(100);
    const large = heap.malloc(2 * MiB);
    memory.map(65536); // the next segment is mapped elsewhere
    const other = heap.malloc(500_000);
    const [first, second] = regionsOf(memory, RegionOwner.Malloc);
    expect(second).toBeDefined();
    for (const p of [small, small + 50, large, large + MiB, other, heap.address, first!.address, first!.address + 4096, first!.address + first!.size - 1, second!.address, second!.address + second!.size - 16, large - 32]) {
      expect(heap.owns(p), `0x${p.toString(16)}`).toBe(true);
    }
    // freed space still belongs to the heap
    heap.free(small);
    expect(heap.owns(small)).toBe(true);
    expectHeapOk(heap);
  });

  it("is false for other heaps, other regions, unmapped pages and garbage", () => {
    const memory = new LinearMemory();
    const heap = new Malloc(memory);
    const otherHeap = new Malloc(memory);
    const theirs = otherHeap.malloc(100);
    const theirLarge = otherHeap.malloc(MiB);
    const user = memory.map(65536);
    const arena = memory.map(65536, { owner: RegionOwner.Arena });
    const large = heap.malloc(MiB);
    const largeRegion = memory.regionAt(large)!;
    heap.free(large);
    for (const p of [theirs, theirLarge, otherHeap.address, user, user + 100, arena + 32, 0, 16, memory.headerBytes - 16, largeRegion.address + 32, memory.byteLength, memory.byteLength + 65536, 2 ** 32 - 16]) {
      expect(heap.owns(p), `0x${p.toString(16)}`).toBe(false);
    }
    for (const p of [NaN, -1, -16, 1.5, Infinity, -Infinity, 2 ** 32, 2 ** 40, Number.MAX_SAFE_INTEGER, "65536", 65536n, undefined, null, {}]) {
      expect(heap.owns(p as number), String(p)).toBe(false);
    }
    expect(otherHeap.owns(theirs)).toBe(true);
    expect(otherHeap.owns(heap.address)).toBe(false);
    expectHeapOk(heap);
    expectHeapOk(otherHeap);
  });
});
