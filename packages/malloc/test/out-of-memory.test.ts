import { Malloc } from "@tsmalloc/malloc";
import { ErrorCode, LinearMemory, RegionOwner } from "@tsmalloc/memory";
import { prng } from "@tsmalloc/testkit";
import { describe, expect, it } from "vitest";
import { expectError, expectFilled, expectHeapOk, expectUnchanged, fill, MiB, regionsOf, snapshot } from "./helpers.ts";

function fixedMemory(bytes = 4 << 20): LinearMemory {
  return new LinearMemory({ buffer: new ArrayBuffer(bytes) });
}

describe("out of memory on a fixed-size memory", () => {
  it("malloc returns 0 once the memory is full; freeing makes room again", () => {
    const heap = new Malloc(fixedMemory());
    const memory = heap.memory;
    const blocks: number[] = [];
    for (;;) {
      const p = heap.malloc(1000);
      if (p === 0) break;
      fill(memory, p, 1000, 1 + (blocks.length % 250));
      blocks.push(p);
    }
    expect(blocks.length).toBeGreaterThan(3000);
    expectHeapOk(heap);
    // every further request fails, and failing changes nothing
    const before = snapshot(heap);
    expect(heap.malloc(1000)).toBe(0);
    expect(heap.malloc(MiB)).toBe(0);
    expect(heap.calloc(10, 100)).toBe(0);
    expect(heap.memalign(4096, 1000)).toBe(0);
    expect(heap.realloc(0, 1000)).toBe(0);
    expectUnchanged(heap, before);
    blocks.forEach((p, i) => expectFilled(memory, p, 1000, 1 + (i % 250)));
    // one freed block makes room for one block of its size
    const freed = blocks.splice(1234, 1)[0]!;
    heap.free(freed);
    expect(heap.malloc(1000)).toBe(freed);
    expect(heap.malloc(1000)).toBe(0);
    expectHeapOk(heap);
    for (const p of blocks) heap.free(p);
    heap.free(freed);
    expect(heap.stats().allocatedBlocks).toBe(0);
    // the first segment grew over the whole memory and keeps its pages: it serves any size
    expect(heap.stats().freeBlocks).toBe(1);
    expect(heap.malloc(MiB - 1)).not.toBe(0);
    expectHeapOk(heap);
  });

  it("keeps the heap valid when mixed requests run out", () => {
    const heap = new Malloc(fixedMemory());
    const memory = heap.memory;
    const random = prng(3);
    const live: [number, number, number][] = [];
    let failures = 0;
    for (let i = 0; i < 3000; i++) {
      const n = random() < 0.8 ? Math.floor(random() * 2000) : Math.floor(random() * 200_000);
      const p = heap.malloc(n);
      if (p === 0) {
        failures++;
        if (live.length > 0 && random() < 0.3) {
          const [q, m, byte] = live.splice(Math.floor(random() * live.length), 1)[0]!;
          expectFilled(memory, q, m, byte);
          heap.free(q);
        }
        continue;
      }
      const byte = 1 + (i % 250);
      fill(memory, p, n, byte);
      live.push([p, n, byte]);
    }
    expect(failures).toBeGreaterThan(100);
    expectHeapOk(heap);
    for (const [p, n, byte] of live) {
      expectFilled(memory, p, n, byte);
      heap.free(p);
    }
    expect(heap.stats().allocatedBlocks).toBe(0);
    expectHeapOk(heap);
  });

  it("large blocks return 0 once the memory is full; freeing one makes room again", () => {
    const heap = new Malloc(fixedMemory(8 << 20));
    const memory = heap.memory;
    const blocks: number[] = [];
    for (let p = heap.malloc(MiB); p !== 0; p = heap.malloc(MiB)) {
      fill(memory, p, MiB, 0x10 + blocks.length);
      blocks.push(p);
    }
    // 8 MiB less the header page and the first segment: seven regions of 1 MiB + 64 KiB
    expect(blocks).toHaveLength(7);
    expect(regionsOf(memory, RegionOwner.MallocLarge)).toHaveLength(7);
    expectHeapOk(heap);
    const before = snapshot(heap);
    expect(heap.malloc(MiB)).toBe(0);
    expect(heap.calloc(MiB, 1)).toBe(0);
    expect(heap.memalign(MiB, MiB)).toBe(0);
    expectUnchanged(heap, before);
    heap.free(blocks[2]!);
    const again = heap.calloc(1, MiB);
    expect(again).toBe(blocks[2]);
    expectFilled(memory, again, MiB, 0);
    blocks[2] = again;
    fill(memory, again, MiB, 0x12);
    blocks.forEach((p, i) => expectFilled(memory, p, MiB, 0x10 + i));
    for (const p of blocks) heap.free(p);
    expect(heap.stats()).toMatchObject({ allocatedBlocks: 0, largeBlocks: 0, largeBytes: 0 });
    expectHeapOk(heap);
  });
});

describe("a memory too small for the first segment", () => {
  it("makes the constructor throw ERR_TSMALLOC_OUT_OF_MEMORY and map nothing", () => {
    const tiny = fixedMemory(2 * 65536);
    const regions = tiny.regions();
    const error = expectError(() => new Malloc(tiny), ErrorCode.OutOfMemory);
    expect(error.message).toContain("262144");
    expect(tiny.regions()).toEqual(regions);
    expect(tiny.getRoot("mllc")).toBe(0);
    // the same for a segment size larger than the memory
    const small = fixedMemory();
    expectError(() => new Malloc(small, { segmentSize: 8 << 20 }), ErrorCode.OutOfMemory);
    expect(small.regions()).toEqual(small.regions().filter((r) => r.owner === RegionOwner.Memory));
    // while a smaller segment fits
    const heap = new Malloc(fixedMemory(2 * 65536), { segmentSize: 65536 });
    expect(heap.malloc(1000)).not.toBe(0);
    expectHeapOk(heap);
  });
});
