/*
 * Free-threading in one thread: heaps of several heap slots of one shared memory, standing in for
 * the heaps of several threads (each slot's heap used as its thread would use it). Another slot's
 * block freed or resized through a heap goes onto its owner's remote-free list; the owner frees it
 * when it next allocates. The cross-worker runs are in @tsmalloc/registry's tests.
 */
import { Malloc } from "@tsmalloc/malloc";
import { ErrorCode, HeapKind, HeapSlots, LinearMemory, PAGE_SIZE, RegionOwner } from "@tsmalloc/memory";
import { AllocatorModel, type HeapsStep, runHeapsSteps } from "@tsmalloc/testkit";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { expectError, expectHeapOk, MiB } from "./helpers.ts";

/** The XOR constants of a block's pending mark (layout.ts): its second payload word on the list. */
const CHECK_MAGIC = 0x5a17c0de;
const PENDING_MAGIC = 0x2e3071d5;

/** A shared memory with a slot table and the malloc heaps of `count` slots. */
function threads(count: number): { memory: LinearMemory; table: HeapSlots; heaps: Malloc[] } {
  const memory = new LinearMemory({ shared: true, maximum: 256 * MiB });
  const table = HeapSlots.create(memory, 8);
  const heaps = Array.from({ length: count }, () => new Malloc(memory, { heapSlot: { table, slot: table.claim() } }));
  return { memory, table, heaps };
}

function fill(memory: LinearMemory, p: number, n: number, byte: number): void {
  memory.u8.fill(byte, p, p + n);
}

function filled(memory: LinearMemory, p: number, n: number, byte: number): boolean {
  return memory.u8.subarray(p, p + n).every((b) => b === byte);
}

describe("a heap slot's malloc heap", () => {
  it("records itself in the slot table, not the root table, and marks its pages", () => {
    const { memory, table, heaps } = threads(2);
    const [a, b] = heaps as [Malloc, Malloc];
    expect([a.heapSlot, b.heapSlot]).toEqual([1, 2]);
    expect(table.heap(1, HeapKind.Malloc)).toBe(a.address);
    expect(table.heap(2, HeapKind.Malloc)).toBe(b.address);
    expect(memory.getRoot("mllc")).toBe(0);
    const big = b.malloc(2 * MiB);
    for (const [p, slot] of [[a.address, 1], [b.address, 2], [big, 2], [big + 2 * MiB - 1, 2]] as const) expect(table.slotOf(p)).toBe(slot);
    b.free(big);
    expect(table.slotOf(big)).toBe(0);
    expectHeapOk(a);
    expectHeapOk(b);
  });

  it("frees another slot's block through its owner's remote-free list, which the owner drains when it runs out of free blocks", () => {
    const { memory, heaps } = threads(2);
    const [a, b] = heaps as [Malloc, Malloc];
    const p = a.malloc(100);
    fill(memory, p, 100, 0x41);
    const before = a.stats();
    b.free(p);
    // pending: still a used block of a, counted
    expect(a.stats()).toMatchObject({ allocatedBlocks: before.allocatedBlocks, remoteFreesPending: 1 });
    expect(b.stats().remoteFreesPending).toBe(0);
    expectHeapOk(a);
    expectHeapOk(b);
    // a's free blocks serve first; the list is drained when none fits, before the heap grows
    const q = a.malloc(64);
    expect(a.stats().remoteFreesPending).toBe(1);
    const big = a.malloc(a.stats().largestFreeBlock + 16);
    expect(a.stats()).toMatchObject({ allocatedBlocks: before.allocatedBlocks + 1, remoteFreesPending: 0 });
    a.free(q);
    a.free(big);
    expectHeapOk(a);
  });

  it("drains on request (drainRemoteFrees), large blocks included, whose regions go back to the memory", () => {
    const { memory, heaps } = threads(2);
    const [a, b] = heaps as [Malloc, Malloc];
    const small = Array.from({ length: 50 }, (_, i) => a.malloc(16 + i * 40));
    const large = a.malloc(3 * MiB);
    const mapped = memory.stats().mappedBytes;
    for (const p of [...small, large]) b.free(p);
    expect(a.stats().remoteFreesPending).toBe(51);
    expect(memory.stats().mappedBytes).toBe(mapped);
    expect(a.drainRemoteFrees()).toBe(51);
    expect(a.drainRemoteFrees()).toBe(0);
    expect(a.stats()).toMatchObject({ allocatedBlocks: 0, largeBlocks: 0, remoteFreesPending: 0 });
    expect(memory.stats().mappedBytes).toBe(mapped - 3 * MiB - PAGE_SIZE);
    expect(b.drainRemoteFrees()).toBe(0);
    expectHeapOk(a);
    expectHeapOk(b);
  });

  it("moves another slot's block on realloc: a new block here, the data copied, the old one back to its owner", () => {
    const { memory, table, heaps } = threads(2);
    const [a, b] = heaps as [Malloc, Malloc];
    for (const [from, to] of [[100, 40], [100, 5000], [5000, 3 * MiB], [3 * MiB, 100]] as const) {
      const p = a.malloc(from);
      fill(memory, p, from, 0x5c);
      const q = b.realloc(p, to);
      expect(q).not.toBe(0);
      expect(table.slotOf(q)).toBe(2);
      expect(filled(memory, q, Math.min(from, to), 0x5c)).toBe(true);
      expect(a.stats().remoteFreesPending).toBe(1);
      expect(a.drainRemoteFrees()).toBe(1);
      expect(b.usableSize(q)).toBeGreaterThanOrEqual(to);
      a.free(q); // and a frees b's block back
      expect(b.drainRemoteFrees()).toBe(1);
    }
    expect(a.stats().allocatedBlocks).toBe(0);
    expect(b.stats().allocatedBlocks).toBe(0);
    expectHeapOk(a);
    expectHeapOk(b);
  });

  it("says whether other threads freed blocks into it (remoteFreesWaiting), in one load", () => {
    const { heaps } = threads(2);
    const [a, b] = heaps as [Malloc, Malloc];
    const p = a.malloc(10);
    expect(a.remoteFreesWaiting).toBe(false);
    b.free(p);
    expect(a.remoteFreesWaiting).toBe(true);
    expect(b.remoteFreesWaiting).toBe(false);
    a.drainRemoteFrees();
    expect(a.remoteFreesWaiting).toBe(false);
    expect(new Malloc().remoteFreesWaiting).toBe(false);
  });

  it("calls beforeMap before it maps more pages (a segment's growth, a new segment, a large block), also opened with attach", () => {
    const memory = new LinearMemory({ shared: true, maximum: 64 * MiB });
    const calls: string[] = [];
    const heap = new Malloc(memory, { beforeMap: (h) => calls.push(h === heap ? "heap" : "other") });
    heap.malloc(100);
    expect(calls).toEqual([]);
    heap.malloc(2 * MiB);
    expect(calls).toEqual(["heap"]);
    for (let i = 0; i < 40; i++) heap.malloc(20_000);
    expect(calls.length).toBeGreaterThan(1);
    const opened = Malloc.attach(memory, heap.address, { beforeMap: () => calls.push("opened") });
    opened.malloc(3 * MiB);
    expect(calls.at(-1)).toBe("opened");
    for (const bad of [5, "f", null]) {
      expectError(() => new Malloc(memory, { beforeMap: bad as never }), ErrorCode.InvalidOption);
      expectError(() => Malloc.attach(memory, heap.address, { beforeMap: bad as never }), ErrorCode.InvalidOption);
    }
    expectError(() => Malloc.attach(memory, heap.address, null as never), ErrorCode.InvalidOption);
  });

  it("frees another slot's block while its owner is half-way through carving the free block on its left", () => {
    const { memory, heaps } = threads(2);
    const [a, b] = heaps as [Malloc, Malloc];
    const u32 = memory.u32;
    const check = (q: number, size: number): number => (q ^ size ^ a.address ^ CHECK_MAGIC) >>> 0;
    // blocks are carved from the end of the free block: p's left neighbour is that free block
    const p = a.malloc(64);
    const header = u32[(p >>> 2) - 1]!;
    expect(header & 2).toBe(2); // PREV_FREE
    const free = p - u32[(p >>> 2) - 2]!;
    const freeHeader = u32[(free >>> 2) - 1]!;
    const freeWord = u32[(free >>> 2) - 2]!;
    const size = freeHeader & ~15;
    // a's next malloc has written the free block's new size and check word, not yet p's header
    // (a descheduled owner stays there for milliseconds): p's left side reads wrong
    u32[(free >>> 2) - 1] = (size - 512) | (freeHeader & 15);
    u32[(free >>> 2) - 2] = check(free, size - 512);
    b.free(p);
    u32[(free >>> 2) - 1] = freeHeader;
    u32[(free >>> 2) - 2] = freeWord;
    expect(a.drainRemoteFrees()).toBe(1);
    expectHeapOk(a);
    // with both sides wrong it is refused, and nothing changes
    const q = a.malloc(64);
    const qHeader = u32[(q >>> 2) - 1]!;
    u32[(q >>> 2) - 2] = 12345;
    const r = q + (qHeader & ~15);
    const rWord = u32[(r >>> 2) - 2]!;
    u32[(r >>> 2) - 2] = 54321;
    expectError(() => b.free(q), ErrorCode.Corruption, q);
    u32[(r >>> 2) - 2] = rWord;
    expect(a.stats().remoteFreesPending).toBe(0);
  });

  it("sizes another slot's block (usableSize) as its owner does", () => {
    const { heaps } = threads(2);
    const [a, b] = heaps as [Malloc, Malloc];
    for (const n of [1, 100, 4000, 2 * MiB]) {
      const p = a.malloc(n);
      expect(b.usableSize(p)).toBe(a.usableSize(p));
      a.free(p);
    }
  });

  it("refuses a second free of a block, from any slot, before and after its owner drains it", () => {
    const { heaps } = threads(3);
    const [a, b, c] = heaps as [Malloc, Malloc, Malloc];
    for (const n of [24, 3 * MiB]) {
      const p = a.malloc(n);
      b.free(p);
      const pending = a.stats();
      expect(expectError(() => b.free(p), ErrorCode.DoubleFree, p).message).toContain("remote-free list");
      expectError(() => c.free(p), ErrorCode.DoubleFree, p);
      expectError(() => c.realloc(p, 10), ErrorCode.DoubleFree, p);
      expectError(() => c.usableSize(p), ErrorCode.DoubleFree, p);
      // the owner finds it on its list (and drains nothing to do so)
      expectError(() => a.usableSize(p), ErrorCode.DoubleFree, p);
      expect(a.stats()).toEqual(pending);
      a.drainRemoteFrees();
      expect([ErrorCode.DoubleFree, ErrorCode.InvalidPointer]).toContain(expectErrorCode(() => a.free(p)));
      expect([ErrorCode.DoubleFree, ErrorCode.InvalidPointer]).toContain(expectErrorCode(() => b.free(p)));
    }
    // the owner's realloc drains first, then finds the block freed
    const q = a.malloc(48);
    c.free(q);
    expect([ErrorCode.DoubleFree, ErrorCode.InvalidPointer]).toContain(expectErrorCode(() => a.realloc(q, 10)));
    for (const heap of heaps) expectHeapOk(heap);
  });

  it("frees a live block whose data happens to be its pending mark in its owner's heap (the owner's walk tells it apart)", () => {
    const { memory, heaps } = threads(2);
    const [a, b] = heaps as [Malloc, Malloc];
    const p = a.malloc(32);
    const mark = (p ^ a.address ^ CHECK_MAGIC ^ PENDING_MAGIC) >>> 0;
    memory.u32[(p >>> 2) + 1] = mark;
    a.free(p);
    expectHeapOk(a);
    // through another slot only the owner could tell: it is refused as a double free (odds 2^-32
    // for data that is not chosen to be the mark), and nothing changes
    const q = a.malloc(32);
    memory.u32[(q >>> 2) + 1] = (q ^ a.address ^ CHECK_MAGIC ^ PENDING_MAGIC) >>> 0;
    expectError(() => b.free(q), ErrorCode.DoubleFree, q);
    a.free(q);
    expectHeapOk(a);
  });

  it("refuses what is not a live block of any slot's heap, through the remote path, changing nothing", () => {
    const { memory, table, heaps } = threads(2);
    const [a, b] = heaps as [Malloc, Malloc];
    const p = a.malloc(200);
    const freed = a.malloc(64);
    const keep = a.malloc(64);
    a.free(freed);
    const user = memory.map(PAGE_SIZE);
    const statsA = a.stats();
    const statsB = b.stats();
    const bytes = memory.u8.slice();
    for (const [bad, code] of [
      [p + 16, ErrorCode.InvalidPointer],
      [p + 8, ErrorCode.InvalidPointer],
      [p + 1, ErrorCode.InvalidPointer],
      [freed, ErrorCode.DoubleFree],
      [user, ErrorCode.InvalidPointer],
      [table.address + 64, ErrorCode.InvalidPointer],
      [memory.byteLength + 16, ErrorCode.InvalidPointer],
    ] as const) {
      expectError(() => b.free(bad), code, bad);
      expectError(() => b.realloc(bad, 10), code, bad);
      expectError(() => b.usableSize(bad), code, bad);
    }
    expect(a.stats()).toEqual(statsA);
    expect(b.stats()).toEqual(statsB);
    expect(Buffer.compare(memory.u8.slice(0, bytes.length), bytes)).toBe(0);
    a.free(p);
    a.free(keep);
    expectHeapOk(a);
  });

  it("keeps a producer -> consumer pipeline at a flat footprint: every free remote, 200 rounds", () => {
    const { memory, heaps } = threads(2);
    const [producer, consumer] = heaps as [Malloc, Malloc];
    const sizes = [16, 40, 100, 500, 2000, 9000];
    let highWater = 0;
    for (let round = 0; round < 200; round++) {
      const blocks = Array.from({ length: 300 }, (_, i) => producer.malloc(sizes[(round + i) % sizes.length]!));
      expect(blocks).not.toContain(0);
      for (const p of blocks) consumer.free(p);
      const mapped = memory.stats().mappedBytes;
      if (round === 10) highWater = mapped;
      if (round > 10) expect(mapped).toBeLessThanOrEqual(highWater);
    }
    producer.drainRemoteFrees();
    expect(producer.stats().allocatedBlocks).toBe(0);
    expectHeapOk(producer);
    expectHeapOk(consumer);
  });

  it("keeps a pipeline of large blocks flat too: their regions are unmapped before the owner maps a new one", () => {
    const { memory, heaps } = threads(2);
    const [producer, consumer] = heaps as [Malloc, Malloc];
    let mapped = 0;
    for (let round = 0; round < 50; round++) {
      const p = producer.malloc(3 * MiB);
      expect(p).not.toBe(0);
      consumer.free(p);
      if (round === 1) mapped = memory.stats().mappedBytes;
      if (round > 1) expect(memory.stats().mappedBytes).toBeLessThanOrEqual(mapped);
    }
    expect(producer.drainRemoteFrees()).toBe(1);
    expect(producer.stats().largeBlocks).toBe(0);
  });

  it("opens a slot's heap with Malloc.attach (a thread that adopts the slot) and frees into it from there", () => {
    const { memory, table, heaps } = threads(2);
    const [a, b] = heaps as [Malloc, Malloc];
    const p = a.malloc(100);
    b.free(p);
    const adopted = Malloc.attach(LinearMemory.attach(memory.source), a.address);
    expect(adopted.heapSlot).toBe(1);
    expect(adopted.stats().remoteFreesPending).toBe(1);
    expect(adopted.drainRemoteFrees()).toBe(1);
    expect(adopted.stats().remoteFreesPending).toBe(0);
    const q = b.malloc(64);
    adopted.free(q);
    expect(b.drainRemoteFrees()).toBe(1);
    expect(table.heap(1, HeapKind.Malloc)).toBe(adopted.address);
    expectHeapOk(adopted);
  });

  it("reports a damaged remote-free list: the drain stops there, leaves the rest alone, and check() says so", () => {
    const { memory, heaps } = threads(2);
    const [a, b] = heaps as [Malloc, Malloc];
    const p = a.malloc(64);
    const q = a.malloc(64);
    b.free(p);
    b.free(q);
    memory.u32[(q >>> 2) + 1] = 0; // q is the head: its mark is overwritten after the free
    expect(a.check().problems.map((problem) => problem.message)).toContain("a block on the remote-free list lost its pending mark (written after it was freed?)");
    expect(a.drainRemoteFrees()).toBe(0);
    expect(a.check().problems.some((problem) => problem.message.includes("found damaged while being drained"))).toBe(true);
  });

  it("check() finds a page marked for the wrong slot", () => {
    const { memory, table, heaps } = threads(2);
    const [a] = heaps as [Malloc];
    memory.u8[table.pageTable + (a.address >>> 16)] = 2;
    expect(a.check().problems.some((problem) => problem.message.includes("marked for slot 2"))).toBe(true);
  });

  it("owns() the blocks of every slot's malloc heap, and nothing else", () => {
    const { memory, heaps } = threads(2);
    const [a, b] = heaps as [Malloc, Malloc];
    const p = a.malloc(10);
    const big = b.malloc(2 * MiB);
    for (const heap of [a, b]) {
      expect(heap.owns(p)).toBe(true);
      expect(heap.owns(big)).toBe(true);
      expect(heap.owns(memory.map(PAGE_SIZE, { owner: RegionOwner.User }))).toBe(false);
      expect(heap.owns(16)).toBe(false);
    }
    const other = new Malloc(memory);
    expect(a.owns(other.malloc(10))).toBe(false);
  });

  it("refuses a bad heapSlot option with ERR_TSMALLOC_INVALID_OPTION before mapping anything", () => {
    const { memory, table } = threads(1);
    const otherTable = HeapSlots.create(new LinearMemory({ shared: true, maximum: 16 * MiB }), 2);
    const before = memory.regions();
    for (const heapSlot of [
      null,
      5,
      {},
      { table: {}, slot: 2 },
      { table, slot: 0 },
      { table, slot: 9 },
      { table, slot: 1.5 },
      { table, slot: "2" },
      { table, slot: 1 }, // has its heap already
      { table: otherTable, slot: 1 },
    ]) {
      expectError(() => new Malloc(memory, { heapSlot: heapSlot as never }), ErrorCode.InvalidOption);
    }
    expectError(() => new Malloc(memory, { heapSlot: { table, slot: 2 }, register: true }), ErrorCode.InvalidOption);
    expect(memory.regions()).toEqual(before);
  });
});

function expectErrorCode(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return (error as { code: string }).code;
  }
  return "nothing thrown";
}

const HEAPS = 3;
const size = fc.oneof(
  { weight: 70, arbitrary: fc.integer({ min: 0, max: 600 }) },
  { weight: 25, arbitrary: fc.integer({ min: 601, max: 70_000 }) },
  { weight: 5, arbitrary: fc.integer({ min: MiB - 100, max: 2 * MiB }) },
);
const heap = fc.integer({ min: 0, max: HEAPS - 1 });
const step: fc.Arbitrary<HeapsStep> = fc.oneof(
  { weight: 35, arbitrary: fc.record({ op: fc.constant("malloc" as const), heap, size }) },
  { weight: 35, arbitrary: fc.record({ op: fc.constant("free" as const), heap, pick: fc.nat() }) },
  { weight: 20, arbitrary: fc.record({ op: fc.constant("realloc" as const), heap, pick: fc.nat(), size }) },
  { weight: 5, arbitrary: fc.record({ op: fc.constant("drain" as const), heap }) },
);

describe("heap slots against the model", () => {
  it("keep every block intact and apart, whichever slot allocates, frees or resizes it", { timeout: 120_000 }, () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 300 }), (steps) => {
        const { memory, heaps } = threads(HEAPS);
        const model = new AllocatorModel(memory);
        runHeapsSteps(model, heaps, steps);
        for (const h of heaps) expect(h.check().problems).toEqual([]);
        for (const block of model.blocks) heaps[0]!.free(block.address);
        for (const h of heaps) h.drainRemoteFrees();
        for (const h of heaps) {
          expect(h.stats().allocatedBlocks).toBe(0);
          expect(h.check().problems).toEqual([]);
        }
      }),
      { numRuns: process.env.TSMALLOC_SOAK === "1" ? 1000 : 60 },
    );
  });
});
