/*
 * Free-threading in one thread: pymalloc heaps of several heap slots of one shared memory (each
 * over its slot's malloc heap), standing in for the heaps of several threads. Another slot's
 * block freed or resized through a heap goes onto its owner's remote-free list; the owner puts it
 * back into its pool before it next takes a new pool. The cross-worker runs are in
 * @tsmalloc/registry's tests.
 */
import { Malloc } from "@tsmalloc/malloc";
import { ErrorCode, HeapKind, HeapSlots, LinearMemory, PAGE_SIZE, RegionOwner } from "@tsmalloc/memory";
import { Pymalloc, regionArenaAllocator, sumStats } from "@tsmalloc/pymalloc";
import { AllocatorModel, type HeapsStep, runHeapsSteps } from "@tsmalloc/testkit";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { STATE_SALT_WORD } from "../src/structs.ts";
import { expectError, expectHeapOk } from "./helpers.ts";

const MiB = 1 << 20;

interface Thread {
  readonly raw: Malloc;
  readonly obj: Pymalloc;
}

/** A shared memory with a slot table and the malloc and pymalloc heaps of `count` slots. */
function threads(count: number): { memory: LinearMemory; table: HeapSlots; heaps: Thread[] } {
  const memory = new LinearMemory({ shared: true, maximum: 512 * MiB });
  const table = HeapSlots.create(memory, 8);
  const heaps = Array.from({ length: count }, (): Thread => {
    const slot = table.claim();
    const raw = new Malloc(memory, { heapSlot: { table, slot } });
    return { raw, obj: new Pymalloc(raw, { heapSlot: { table, slot } }) };
  });
  return { memory, table, heaps };
}

function two(): { memory: LinearMemory; table: HeapSlots; a: Pymalloc; b: Pymalloc; heaps: Thread[] } {
  const { memory, table, heaps } = threads(2);
  return { memory, table, a: heaps[0]!.obj, b: heaps[1]!.obj, heaps };
}

function expectAllOk(heaps: readonly Thread[]): void {
  for (const { raw, obj } of heaps) {
    expectHeapOk(obj);
    expectHeapOk(raw);
  }
}

function errorCode(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return (error as { code: string }).code;
  }
  return "nothing thrown";
}

describe("a heap slot's pymalloc heap", () => {
  it("records itself in the slot table, marks its arenas' pages, and owns() every slot's arenas", () => {
    const { memory, table, a, b } = two();
    expect([a.heapSlot, b.heapSlot]).toEqual([1, 2]);
    expect(table.heap(1, HeapKind.Pymalloc)).toBe(a.address);
    expect(table.heap(2, HeapKind.Pymalloc)).toBe(b.address);
    expect(memory.getRoot("pyml")).toBe(0);
    const p = a.malloc(24);
    const q = b.malloc(24);
    expect(table.slotOf(p)).toBe(1);
    expect(table.slotOf(q)).toBe(2);
    const arena = memory.regionAt(p)!;
    expect(arena.owner).toBe(RegionOwner.Arena);
    for (let page = arena.address; page < arena.address + arena.size; page += PAGE_SIZE) expect(table.slotOf(page)).toBe(1);
    for (const heap of [a, b]) {
      expect(heap.owns(p)).toBe(true);
      expect(heap.owns(q)).toBe(true);
      expect(heap.owns(heap.raw.malloc(1000))).toBe(false);
    }
  });

  it("puts another slot's block on its owner's remote-free list, which the owner drains before it takes a new pool", () => {
    const { memory, a, b, heaps } = two();
    const blocks = Array.from({ length: 100 }, () => a.malloc(100));
    memory.u8.fill(0x33, blocks[0]!, blocks[0]! + 100);
    const inUse = a.stats().allocatedBlocks;
    expect(a.remoteFreesWaiting).toBe(false);
    for (const p of blocks) b.free(p);
    expect(a.remoteFreesWaiting).toBe(true);
    expect(b.remoteFreesWaiting).toBe(false);
    expect(a.stats()).toMatchObject({ allocatedBlocks: inUse, remoteFreesPending: 100 });
    expect(a.formatStats()).toMatch(/# blocks freed by other threads\s+=\s+100\n/);
    expectAllOk(heaps);
    // filling the class's pools makes a take a new pool: first it drains
    const again = Array.from({ length: 200 }, () => a.malloc(100));
    expect(a.stats().remoteFreesPending).toBe(0);
    expect(again.filter((p) => blocks.includes(p)).length).toBe(100);
    for (const p of again) a.free(p);
    expect(a.stats().allocatedBlocks).toBe(0);
    expectAllOk(heaps);
  });

  it("drains on request (drainRemoteFrees), and an emptied arena goes back to the memory", () => {
    const { memory, a, b, heaps } = two();
    const blocks = Array.from({ length: (3 * MiB) / 512 }, () => a.malloc(512));
    const mapped = memory.stats().mappedBytes;
    for (const p of blocks) b.free(p);
    expect(a.drainRemoteFrees()).toBe(blocks.length);
    expect(a.drainRemoteFrees()).toBe(0);
    expect(b.drainRemoteFrees()).toBe(0);
    expect(a.stats()).toMatchObject({ allocatedBlocks: 0, arenasAllocatedCurrent: 1, remoteFreesPending: 0 });
    expect(memory.stats().mappedBytes).toBeLessThan(mapped);
    expectAllOk(heaps);
  });

  it("resizes another slot's block: in place when its size class still fits (nothing written), else into the caller's heap", () => {
    const { memory, table, a, b, heaps } = two();
    const p = a.malloc(60);
    memory.u8.fill(0x6e, p, p + 60);
    const before = memory.u8.slice(p - 64, p + 128);
    expect(b.realloc(p, 50)).toBe(p);
    expect(Buffer.compare(memory.u8.slice(p - 64, p + 128), before)).toBe(0);
    expect(a.stats().remoteFreesPending).toBe(0);
    for (const n of [20, 200, 5000]) {
      const q = a.malloc(60);
      memory.u8.fill(0x6f, q, q + 60);
      const r = b.realloc(q, n);
      expect(table.slotOf(r)).toBe(2);
      expect(memory.u8.subarray(r, r + Math.min(60, n)).every((byte) => byte === 0x6f)).toBe(true);
      expect(a.stats().remoteFreesPending).toBe(1);
      a.drainRemoteFrees();
      expect(b.usableSize(r)).toBeGreaterThanOrEqual(n);
      b.free(r);
    }
    a.free(p);
    expect(a.stats().allocatedBlocks + b.stats().allocatedBlocks).toBe(0);
    expectAllOk(heaps);
  });

  it("frees and resizes another slot's raw blocks through the raw allocator, and counts them where they lie", () => {
    const { a, b, heaps } = two();
    const large = Array.from({ length: 10 }, (_, i) => a.malloc(600 + i * 1000));
    expect(a.stats().rawAllocatedBlocks).toBe(10);
    const moved = b.realloc(large[0]!, 70_000);
    expect(a.stats().rawAllocatedBlocks).toBe(9);
    expect(b.stats().rawAllocatedBlocks).toBe(1);
    for (const p of large.slice(1)) b.free(p);
    b.free(moved);
    expect(a.stats().rawAllocatedBlocks + b.stats().rawAllocatedBlocks).toBe(0);
    heaps[0]!.raw.drainRemoteFrees();
    expect(heaps[0]!.raw.stats().allocatedBlocks).toBe(heaps[0]!.raw.stats().allocatedBlocks);
    expectAllOk(heaps);
  });

  it("counts out its own large raw block, whose region is gone (and its pages nobody's) once freed", () => {
    const { a, heaps } = two();
    const big = a.malloc(3 * MiB);
    expect(a.stats().rawAllocatedBlocks).toBe(1);
    a.free(big);
    expect(a.stats().rawAllocatedBlocks).toBe(0);
    expectAllOk(heaps);
  });

  it("refuses a second free of a pool block, from any slot, before and after its owner drains it", () => {
    const { memory, heaps } = threads(3);
    const [a, b, c] = heaps.map((t) => t.obj) as [Pymalloc, Pymalloc, Pymalloc];
    const p = a.malloc(40);
    b.free(p);
    expect(expectError(() => b.free(p), ErrorCode.DoubleFree, p).message).toContain("remote-free list");
    expectError(() => c.free(p), ErrorCode.DoubleFree, p);
    expectError(() => c.realloc(p, 400), ErrorCode.DoubleFree, p);
    expectError(() => c.usableSize(p), ErrorCode.DoubleFree, p);
    expect(expectError(() => a.free(p), ErrorCode.DoubleFree, p).message).toContain("remote-free list");
    expectError(() => a.realloc(p, 400), ErrorCode.DoubleFree, p);
    expect(a.stats().remoteFreesPending).toBe(1);
    a.drainRemoteFrees();
    expectError(() => a.free(p), ErrorCode.DoubleFree, p);
    expectError(() => b.free(p), ErrorCode.DoubleFree, p);
    // a live block whose data happens to be the freed mark: its owner walks its lists and frees it
    const q = a.malloc(40);
    memory.u32[(q >>> 2) + 1] = (q ^ memory.u32[(a.address >>> 2) + STATE_SALT_WORD]!) >>> 0;
    a.free(q);
    expectAllOk(heaps);
  });

  it("frees into several slots' heaps at once, each block onto its own owner's list (the per-slot cache), and they come back into use", () => {
    const { heaps } = threads(3);
    const [a, b, c] = heaps.map((t) => t.obj) as [Pymalloc, Pymalloc, Pymalloc];
    const ofA = Array.from({ length: 60 }, (_, i) => a.malloc(16 + (i % 8) * 16));
    const ofB = Array.from({ length: 40 }, (_, i) => b.malloc(16 + (i % 8) * 16));
    // interleaved, so that a cache of one slot (the last one used) would send blocks astray
    for (let i = 0; i < 60; i++) {
      c.free(ofA[i]!);
      if (i < 40) c.free(ofB[i]!);
    }
    expect([a.stats().remoteFreesPending, b.stats().remoteFreesPending, c.stats().remoteFreesPending]).toEqual([60, 40, 0]);
    // a second free of each, through the warm cache and from the owner, is still a double free
    expectError(() => c.free(ofA[7]!), ErrorCode.DoubleFree, ofA[7]!);
    expectError(() => b.free(ofA[8]!), ErrorCode.DoubleFree, ofA[8]!);
    expectError(() => a.free(ofA[9]!), ErrorCode.DoubleFree, ofA[9]!);
    expectError(() => a.free(ofB[3]!), ErrorCode.DoubleFree, ofB[3]!);
    expect(a.drainRemoteFrees()).toBe(60);
    expect(b.drainRemoteFrees()).toBe(40);
    expectAllOk(heaps);
    // the drained blocks serve their owner again, and no other heap
    const againA = Array.from({ length: 60 }, (_, i) => a.malloc(16 + (i % 8) * 16));
    expect(new Set(againA)).toEqual(new Set(ofA));
    const againB = Array.from({ length: 40 }, (_, i) => b.malloc(16 + (i % 8) * 16));
    expect(new Set(againB)).toEqual(new Set(ofB));
    for (const p of againA) b.free(p);
    for (const p of againB) a.free(p);
    a.drainRemoteFrees();
    b.drainRemoteFrees();
    expect(a.stats().allocatedBlocks + b.stats().allocatedBlocks + c.stats().allocatedBlocks).toBe(0);
    expectAllOk(heaps);
  });

  it("refuses what is not a live block of any slot's arena through the remote path, changing nothing", () => {
    const { memory, a, b, heaps } = two();
    const p = a.malloc(48);
    const keep = a.malloc(48);
    const pool = p - (p % 16384);
    const statsA = a.stats();
    const statsB = b.stats();
    const bytes = memory.u8.slice();
    for (const [bad, code] of [
      [pool + 16, ErrorCode.InvalidPointer], // the pool header
      [p + 16, ErrorCode.InvalidPointer], // inside a block
      [p + 48 * 40, ErrorCode.InvalidPointer], // never carved
      [pool + 16384 * 10 + 48, ErrorCode.InvalidPointer], // a pool never used
    ] as const) {
      expect(errorCode(() => b.free(bad))).toBe(code);
      expect(errorCode(() => b.realloc(bad, 10))).toBe(code);
      expect(errorCode(() => b.usableSize(bad))).toBe(code);
    }
    expect(a.stats()).toEqual(statsA);
    expect(b.stats()).toEqual(statsB);
    expect(Buffer.compare(memory.u8.slice(0, bytes.length), bytes)).toBe(0);
    a.free(p);
    a.free(keep);
    expectAllOk(heaps);
  });

  it("keeps a producer -> consumer pipeline at a flat footprint: every free remote, 200 rounds", () => {
    const { memory, a: producer, b: consumer, heaps } = two();
    let highWater = 0;
    for (let round = 0; round < 200; round++) {
      const blocks = Array.from({ length: 2000 }, (_, i) => producer.malloc(8 + ((round * 7 + i * 13) % 505)));
      expect(blocks).not.toContain(0);
      for (const p of blocks) consumer.free(p);
      const mapped = memory.stats().mappedBytes;
      if (round === 10) highWater = mapped;
      if (round > 10) expect(mapped).toBeLessThanOrEqual(highWater);
    }
    producer.drainRemoteFrees();
    expect(producer.stats().allocatedBlocks).toBe(0);
    expectAllOk(heaps);
  });

  it("opens a slot's heap with Pymalloc.attach (a thread that adopts the slot), its remote-free list included", () => {
    const { memory, table, a, b } = two();
    const p = a.malloc(100);
    b.free(p);
    const other = LinearMemory.attach(memory.source);
    const raw = Malloc.attach(other, table.heap(1, HeapKind.Malloc));
    const adopted = Pymalloc.attach(raw, a.address);
    expect(adopted.heapSlot).toBe(1);
    expect(adopted.stats().remoteFreesPending).toBe(1);
    expect(adopted.drainRemoteFrees()).toBe(1);
    expect(() => Pymalloc.attach(raw, a.address, { heapSlot: { table, slot: 3 } } as never)).toThrow(/do not pass heapSlot/);
    expectHeapOk(adopted);
  });

  it("reports a damaged remote-free list and a page marked for the wrong slot", () => {
    const { memory, table, a, b } = two();
    const p = a.malloc(64);
    b.free(p);
    memory.u32[(p >>> 2) + 1] = 0; // written after it was freed: the mark is gone
    expect(a.check().problems.map((problem) => problem.message)).toContain("a block on the remote-free list lost its freed mark (written after it was freed?)");
    expect(a.drainRemoteFrees()).toBe(0);
    expect(a.check().problems.some((problem) => problem.message.includes("found damaged while being drained"))).toBe(true);
    const q = b.malloc(16);
    memory.u8[table.pageTable + (q >>> 16)] = 3;
    expect(b.check().problems.some((problem) => problem.message.includes("marked for slot 3"))).toBe(true);
  });

  it("sums the statistics of several heaps (sumStats)", () => {
    const { a, b } = two();
    for (let i = 0; i < 50; i++) a.malloc(16);
    for (let i = 0; i < 30; i++) b.malloc(16);
    b.malloc(700);
    const total = sumStats([a.stats(), b.stats()])!;
    expect(total.classes).toEqual([{ index: 0, size: 16, pools: 2, blocksInUse: 80, availableBlocks: 2 * 1021 - 80 }]);
    expect(total.arenasAllocatedCurrent).toBe(2);
    expect(total.allocatedBlocks).toBe(81);
    expect(total.total).toBe(2 * MiB);
    expect(sumStats([])).toBeNull();
  });

  it("refuses a bad heapSlot option, another arena allocator or layout, with ERR_TSMALLOC_INVALID_OPTION", () => {
    const { memory, table } = threads(1);
    const slot = table.claim();
    const raw = new Malloc(memory, { heapSlot: { table, slot } });
    const before = raw.stats();
    for (const heapSlot of [null, 5, {}, { table, slot: 0 }, { table, slot: 9 }, { table, slot: "2" }, { table, slot: 1 }]) {
      expectError(() => new Pymalloc(raw, { heapSlot: heapSlot as never }), ErrorCode.InvalidOption);
    }
    expectError(() => new Pymalloc(raw, { heapSlot: { table, slot }, arenaAllocator: regionArenaAllocator(memory) }), ErrorCode.InvalidOption);
    expectError(() => new Pymalloc(raw, { heapSlot: { table, slot }, register: true }), ErrorCode.InvalidOption);
    expect(expectError(() => new Pymalloc(raw, { heapSlot: { table, slot }, layout: "python38" }), ErrorCode.InvalidOption).message).toContain("layout must be the one of slot 1");
    expect(raw.stats()).toEqual(before);
    const obj = new Pymalloc(raw, { heapSlot: { table, slot } });
    expectError(() => obj.setArenaAllocator(regionArenaAllocator(memory)), ErrorCode.InvalidOption);
  });
});

const HEAPS = 3;
const size = fc.oneof({ weight: 85, arbitrary: fc.integer({ min: 0, max: 512 }) }, { weight: 15, arbitrary: fc.integer({ min: 513, max: 20_000 }) });
const heap = fc.integer({ min: 0, max: HEAPS - 1 });
const step: fc.Arbitrary<HeapsStep> = fc.oneof(
  { weight: 30, arbitrary: fc.record({ op: fc.constant("malloc" as const), heap, size }) },
  { weight: 5, arbitrary: fc.record({ op: fc.constant("calloc" as const), heap, size }) },
  { weight: 35, arbitrary: fc.record({ op: fc.constant("free" as const), heap, pick: fc.nat() }) },
  { weight: 20, arbitrary: fc.record({ op: fc.constant("realloc" as const), heap, pick: fc.nat(), size }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant("drain" as const), heap }) },
);

describe("pymalloc heap slots against the model", () => {
  it("keep every block intact and apart, whichever slot allocates, frees or resizes it", { timeout: 120_000 }, () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 400 }), (steps) => {
        const { memory, heaps } = threads(HEAPS);
        const model = new AllocatorModel(memory);
        runHeapsSteps(model, heaps.map((t) => t.obj), steps);
        expectAllOk(heaps);
        for (const block of model.blocks) heaps[1]!.obj.free(block.address);
        for (const t of heaps) {
          t.obj.drainRemoteFrees();
          t.raw.drainRemoteFrees();
        }
        expect(sumStats(heaps.map((t) => t.obj.stats()))!.allocatedBlocks).toBe(0);
        expectAllOk(heaps);
      }),
      { numRuns: process.env.TSMALLOC_SOAK === "1" ? 1000 : 50 },
    );
  });
});
