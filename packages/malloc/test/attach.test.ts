import { Malloc } from "@tsmalloc/malloc";
import { ErrorCode, LinearMemory, RegionOwner } from "@tsmalloc/memory";
import { describe, expect, it } from "vitest";
import { expectError, expectFilled, expectHeapOk, fill, MiB, regionsOf } from "./helpers.ts";

/** Where a heap records itself in the memory's root table. */
const ROOT_TAG = "mllc";

describe("Malloc.attach", () => {
  it("opens the heap recorded in the memory's root table", () => {
    const memory = new LinearMemory();
    const heap = new Malloc(memory);
    expect(memory.getRoot(ROOT_TAG)).toBe(heap.address);
    const p = heap.malloc(100);
    const large = heap.malloc(2 * MiB);
    fill(memory, p, 100, 0x21);
    const attached = Malloc.attach(memory);
    expect(attached).not.toBe(heap);
    expect(attached.address).toBe(heap.address);
    expect(attached.memory).toBe(memory);
    expect(attached.mmapThreshold).toBe(heap.mmapThreshold);
    expect(attached.stats()).toEqual(heap.stats());
    expect(attached.usableSize(p)).toBe(heap.usableSize(p));
    expect(attached.owns(large)).toBe(true);
    // both handles work on the one heap
    attached.free(p);
    expectError(() => heap.free(p), ErrorCode.DoubleFree, p);
    const q = attached.malloc(300);
    heap.free(q);
    heap.free(large);
    expect(attached.stats().allocatedBlocks).toBe(0);
    expectHeapOk(attached);
    expectHeapOk(heap);
  });

  it("keeps two handles on one heap in one thread consistent while one of them grows the memory, on every backing", () => {
    const backings: [string, () => LinearMemory][] = [
      ["WebAssembly.Memory", () => new LinearMemory()],
      ["shared WebAssembly.Memory", () => new LinearMemory({ shared: true, maximum: 64 * MiB })],
      ["resizable ArrayBuffer", () => new LinearMemory({ buffer: new ArrayBuffer(MiB, { maxByteLength: 64 * MiB }) })],
      ["growable SharedArrayBuffer", () => new LinearMemory({ buffer: new SharedArrayBuffer(MiB, { maxByteLength: 64 * MiB }) })],
      ["two LinearMemory instances on one WebAssembly.Memory", () => LinearMemory.attach(new LinearMemory().source)],
    ];
    for (const [name, make] of backings) {
      const memory = make();
      const a = new Malloc(memory);
      // b is a second handle: the same heap, or the same heap through a second memory instance
      const b = Malloc.attach(name.startsWith("two") ? LinearMemory.attach(memory.source) : memory);
      const fromA: number[] = [];
      const fromB: number[] = [];
      for (let i = 0; i < 60; i++) {
        // a grows the heap (segments and large blocks) while b keeps allocating in it
        const p = a.malloc(i % 10 === 0 ? 2 * MiB : 40_000);
        expect(p, name).not.toBe(0);
        fill(a.memory, p, 100, 1 + (i % 200));
        fromA.push(p);
        const q = b.malloc(30_000);
        expect(q, name).not.toBe(0);
        fill(b.memory, q, 30_000, 201 + (i % 50));
        fromB.push(q);
      }
      fromA.forEach((p, i) => expectFilled(b.memory, p, 100, 1 + (i % 200)));
      fromB.forEach((q, i) => expectFilled(a.memory, q, 30_000, 201 + (i % 50)));
      expectHeapOk(a);
      expectHeapOk(b);
      for (const p of fromA) b.free(p);
      for (const q of fromB) a.free(q);
      expect(a.stats().allocatedBlocks, name).toBe(0);
      expectHeapOk(b);
    }
  });

  it("keeps the settings the heap was created with", () => {
    const memory = new LinearMemory();
    new Malloc(memory, { mmapThreshold: 8192, segmentSize: 65536 });
    const attached = Malloc.attach(memory);
    expect(attached.mmapThreshold).toBe(8192);
    expect(attached.stats().segmentBytes).toBe(65536);
    expect(memory.pageOwner(attached.malloc(8192))).toBe(RegionOwner.MallocLarge);
    expectHeapOk(attached);
  });

  it("opens a heap by address; a second heap is not recorded unless asked", () => {
    const memory = new LinearMemory();
    const first = new Malloc(memory);
    const second = new Malloc(memory);
    expect(second.address).not.toBe(first.address);
    expect(memory.getRoot(ROOT_TAG)).toBe(first.address);
    expect(Malloc.attach(memory).address).toBe(first.address);
    const byAddress = Malloc.attach(memory, second.address);
    expect(byAddress.address).toBe(second.address);
    const p = second.malloc(100);
    expect(byAddress.usableSize(p)).toBe(second.usableSize(p));
    expectError(() => first.free(p), ErrorCode.InvalidPointer, p);
    byAddress.free(p);
    // register: true records a heap even when another one is recorded
    const third = new Malloc(memory, { register: true });
    expect(memory.getRoot(ROOT_TAG)).toBe(third.address);
    expect(Malloc.attach(memory).address).toBe(third.address);
    for (const heap of [first, second, third]) expectHeapOk(heap);
  });

  it("finds nothing when the only heap was created with register: false", () => {
    const memory = new LinearMemory();
    const heap = new Malloc(memory, { register: false });
    expect(memory.getRoot(ROOT_TAG)).toBe(0);
    expectError(() => Malloc.attach(memory), ErrorCode.Incompatible);
    expect(Malloc.attach(memory, heap.address).address).toBe(heap.address);
    expectHeapOk(heap);
  });

  it("opens a saved copy of the memory, with the same blocks and contents, and keeps working", () => {
    const memory = new LinearMemory({ buffer: new ArrayBuffer(16 << 20) });
    const heap = new Malloc(memory);
    const blocks: [number, number][] = [];
    for (let i = 0; i < 300; i++) {
      const n = (i * 131) % 5000;
      const p = heap.malloc(n);
      fill(memory, p, n, 1 + (i % 250));
      blocks.push([p, n]);
    }
    const large = heap.malloc(3 * MiB);
    fill(memory, large, 3 * MiB, 0xfe);
    for (let i = 0; i < 300; i += 3) heap.free(blocks[i]![0]);

    const copy = memory.buffer.slice(0);
    const stats = heap.stats();
    const regions = memory.regions();
    const reopened = Malloc.attach(LinearMemory.attach(copy));
    const mem2 = reopened.memory;
    expect(reopened.address).toBe(heap.address);
    expect(reopened.stats()).toEqual(stats);
    expect(mem2.regions()).toEqual(regions);
    expectHeapOk(reopened);
    blocks.forEach(([p, n], i) => {
      if (i % 3 === 0) return;
      expect(reopened.usableSize(p)).toBe(heap.usableSize(p));
      expectFilled(mem2, p, n, 1 + (i % 250));
    });
    expectFilled(mem2, large, 3 * MiB, 0xfe);
    // the copy is a heap of its own now: it allocates, resizes and frees without touching the original
    const fresh = reopened.malloc(1000);
    expect(fresh).not.toBe(0);
    const grown = reopened.realloc(large, 5 * MiB);
    expectFilled(mem2, grown, 3 * MiB, 0xfe);
    reopened.free(grown);
    for (let i = 1; i < 300; i += 3) reopened.free(blocks[i]![0]);
    expectError(() => reopened.free(blocks[0]![0]), ErrorCode.DoubleFree, blocks[0]![0]);
    expectHeapOk(reopened);
    expect(heap.stats()).toEqual(stats);
    expect(memory.regions()).toEqual(regions);
    expectHeapOk(heap);
  });

  it("throws ERR_TSMALLOC_INCOMPATIBLE where there is no heap", () => {
    const memory = new LinearMemory();
    const error = expectError(() => Malloc.attach(memory), ErrorCode.Incompatible);
    expect(error.message).toContain("no malloc heap");
    const heap = new Malloc(memory);
    const user = memory.map(65536);
    const [segment] = regionsOf(memory, RegionOwner.Malloc);
    for (const address of [user + 32, segment!.address, heap.address + 16, heap.address + 65536, 12345, 32, memory.byteLength + 32, 2 ** 32 - 32]) {
      expectError(() => Malloc.attach(memory, address), ErrorCode.Incompatible);
    }
    for (const address of [NaN, -32, 1.5, "32"]) {
      expectError(() => Malloc.attach(memory, address as number), ErrorCode.Incompatible);
    }
    // a large block's region is not a heap either
    const large = heap.malloc(MiB);
    expectError(() => Malloc.attach(memory, large), ErrorCode.Incompatible);
    expectHeapOk(heap);
  });

  it("refuses a heap of another layout version, and things that are not memories", () => {
    const memory = new LinearMemory({ buffer: new ArrayBuffer(4 << 20) });
    const heap = new Malloc(memory);
    const copy = memory.buffer.slice(0);
    const words = new Uint32Array(copy);
    words[(heap.address >>> 2) + 1] = 99; // the header's version word
    const error = expectError(() => Malloc.attach(LinearMemory.attach(copy)), ErrorCode.Incompatible);
    expect(error.message).toContain("version");
    words[(heap.address >>> 2) + 1] = 1;
    words[heap.address >>> 2] = 0; // the magic
    expectError(() => Malloc.attach(LinearMemory.attach(copy)), ErrorCode.Incompatible);
    for (const notMemory of [{}, copy, null, undefined]) {
      expectError(() => Malloc.attach(notMemory as never), ErrorCode.InvalidOption);
    }
    expectHeapOk(heap);
  });
});
