import { ErrorCode, HEAP_KINDS, HeapKind, HeapSlots, HeapSlotState, LinearMemory, MAX_HEAP_SLOTS, PAGE_SIZE, RegionOwner } from "@tsmalloc/memory";
import { runWorkers } from "@tsmalloc/testkit";
import { describe, expect, it } from "vitest";
import type { SlotJob, SlotReply } from "./fixtures/slot-worker.ts";
import { expectError, MiB } from "./support.ts";

function shared(): LinearMemory {
  return new LinearMemory({ shared: true, maximum: 64 * MiB });
}

describe("HeapSlots", () => {
  it("maps a 128 KiB table of free slots that owns no page", () => {
    const memory = shared();
    const slots = HeapSlots.create(memory);
    expect(slots.count).toBe(MAX_HEAP_SLOTS);
    expect(memory.regionAt(slots.address)).toEqual({ address: slots.address, size: 2 * PAGE_SIZE, owner: RegionOwner.HeapSlots });
    expect(slots.pageTable).toBe(slots.address + PAGE_SIZE);
    for (const slot of [1, 2, MAX_HEAP_SLOTS]) {
      expect(slots.state(slot)).toBe(HeapSlotState.Free);
      expect(slots.claims(slot)).toBe(0);
      for (let kind = 0; kind < HEAP_KINDS; kind++) expect(slots.heap(slot, kind)).toBe(0);
    }
    for (const address of [0, slots.address, memory.byteLength - 1, 0xffff_ffff]) expect(slots.slotOf(address)).toBe(0);
  });

  it("claims free slots in order, then refuses with 0 when all are held", () => {
    const slots = HeapSlots.create(shared(), 3);
    expect([slots.claim(), slots.claim(), slots.claim()]).toEqual([1, 2, 3]);
    expect(slots.claim()).toBe(0);
    expect([1, 2, 3].map((slot) => slots.state(slot))).toEqual([HeapSlotState.Owned, HeapSlotState.Owned, HeapSlotState.Owned]);
  });

  it("prefers an abandoned slot, whose heaps the claimer adopts", () => {
    const slots = HeapSlots.create(shared(), 4);
    const first = slots.claim();
    const second = slots.claim();
    slots.setHeap(second, HeapKind.Malloc, 0x12340);
    expect(slots.abandoned).toBe(0);
    slots.abandon(second);
    expect(slots.state(second)).toBe(HeapSlotState.Abandoned);
    expect(slots.abandoned).toBe(1);
    expect(slots.claim()).toBe(second);
    expect(slots.abandoned).toBe(0);
    expect(slots.heap(second, HeapKind.Malloc)).toBe(0x12340);
    expect(slots.claims(second)).toBe(2);
    expect(slots.claims(first)).toBe(1);
    expect(slots.claim()).toBe(3);
  });

  it("lends an abandoned slot to one borrower at a time, and takes it back", () => {
    const slots = HeapSlots.create(shared(), 2);
    const slot = slots.claim();
    expect(slots.borrow(slot)).toBe(false);
    slots.abandon(slot);
    expect(slots.borrow(slot)).toBe(true);
    expect(slots.state(slot)).toBe(HeapSlotState.Borrowed);
    expect(slots.abandoned).toBe(1);
    expect(slots.borrow(slot)).toBe(false);
    // a claim meanwhile takes the never-used slot rather than wait for ever
    slots.giveBack(slot);
    expect(slots.state(slot)).toBe(HeapSlotState.Abandoned);
    expect(slots.claim()).toBe(slot);
  });

  it("marks and clears the pages of a region for a slot; slotOf reads them in O(1)", () => {
    const memory = shared();
    const slots = HeapSlots.create(memory);
    const region = memory.map(3 * PAGE_SIZE);
    slots.assignPages(region, 3 * PAGE_SIZE, 7);
    expect(slots.slotOf(region)).toBe(7);
    expect(slots.slotOf(region + 3 * PAGE_SIZE - 1)).toBe(7);
    expect(slots.slotOf(region - 1)).toBe(0);
    expect(slots.slotOf(region + 3 * PAGE_SIZE)).toBe(0);
    expect(memory.u8[slots.pageTable + region / PAGE_SIZE + 1]).toBe(7);
    slots.assignPages(region + PAGE_SIZE, 2 * PAGE_SIZE, 0);
    expect([0, 1, 2].map((page) => slots.slotOf(region + page * PAGE_SIZE))).toEqual([7, 0, 0]);
    for (const value of [-1, 1.5, Number.NaN, "0", 2 ** 32]) expect(slots.slotOf(value as number)).toBe(0);
  });

  it("opens the same table by address, in this thread or another", () => {
    const memory = shared();
    const slots = HeapSlots.create(memory, 9);
    const slot = slots.claim();
    slots.setHeap(slot, HeapKind.Pymalloc, 0x40010);
    const again = HeapSlots.attach(LinearMemory.attach(memory.source), slots.address);
    expect(again.count).toBe(9);
    expect(again.pageTable).toBe(slots.pageTable);
    expect(again.state(slot)).toBe(HeapSlotState.Owned);
    expect(again.heap(slot, HeapKind.Pymalloc)).toBe(0x40010);
    expect(again.claim()).toBe(2);
  });

  it("refuses an unshared memory and a bad count with ERR_TSMALLOC_INVALID_OPTION, mapping nothing", () => {
    const unshared = new LinearMemory({ maximum: 4 * MiB });
    const before = unshared.regions();
    expect(expectError(() => HeapSlots.create(unshared), ErrorCode.InvalidOption).message).toContain("must be shared");
    expect(unshared.regions()).toEqual(before);
    const memory = shared();
    for (const count of [0, -1, 256, 1.5, Number.NaN, "4", null]) expectError(() => HeapSlots.create(memory, count as number), ErrorCode.InvalidOption);
    expect(memory.regions()).toHaveLength(1);
  });

  it("returns ERR_TSMALLOC_OUT_OF_MEMORY when the memory cannot hold the table", () => {
    const memory = new LinearMemory({ buffer: new SharedArrayBuffer(2 * PAGE_SIZE) });
    expectError(() => HeapSlots.create(memory), ErrorCode.OutOfMemory);
  });

  it("refuses an address that holds no table with ERR_TSMALLOC_INCOMPATIBLE", () => {
    const memory = shared();
    const slots = HeapSlots.create(memory);
    const user = memory.map(2 * PAGE_SIZE);
    for (const address of [0, 4, slots.address + 64, user, memory.byteLength, 0xffff_0000, -PAGE_SIZE, 1.5, "0"]) {
      expectError(() => HeapSlots.attach(memory, address as number), ErrorCode.Incompatible);
    }
    const words = memory.u32;
    words[(slots.address >>> 2) + 1] = 99;
    expect(expectError(() => HeapSlots.attach(memory, slots.address), ErrorCode.Incompatible).message).toContain("version 99");
  });

  it("refuses slots and kinds out of range, and state changes a slot is not in, with ERR_TSMALLOC_INVALID_OPTION", () => {
    const slots = HeapSlots.create(shared(), 4);
    for (const slot of [0, 5, -1, 1.5, Number.NaN, "1", undefined]) {
      expectError(() => slots.state(slot as number), ErrorCode.InvalidOption);
      expectError(() => slots.abandon(slot as number), ErrorCode.InvalidOption);
      expectError(() => slots.borrow(slot as number), ErrorCode.InvalidOption);
      expectError(() => slots.heap(slot as number, 0), ErrorCode.InvalidOption);
    }
    for (const kind of [-1, HEAP_KINDS, 0.5, "0"]) {
      expectError(() => slots.heap(1, kind as number), ErrorCode.InvalidOption);
      expectError(() => slots.setHeap(1, kind as number, 16), ErrorCode.InvalidOption);
    }
    // abandoning a slot nobody owns, giving back one nobody borrowed: refused, nothing changes
    expect(expectError(() => slots.abandon(1), ErrorCode.InvalidOption).message).toContain("is free");
    const slot = slots.claim();
    expectError(() => slots.giveBack(slot), ErrorCode.InvalidOption);
    slots.abandon(slot);
    expectError(() => slots.abandon(slot), ErrorCode.InvalidOption);
    expect(slots.state(slot)).toBe(HeapSlotState.Abandoned);
  });

  it("gives each of several workers racing to claim, abandon and borrow a slot of its own", { timeout: 60_000 }, async () => {
    const memory = shared();
    const workers = 4;
    const slots = HeapSlots.create(memory, 6);
    const rounds = 300;
    const sync = new Int32Array(new SharedArrayBuffer(4 * rounds));
    const holders = new Int32Array(new SharedArrayBuffer(4 * (MAX_HEAP_SLOTS + 1)));
    const jobs = Array.from({ length: workers }, (): SlotJob => ({ source: memory.source, table: slots.address, sync, holders, workers, rounds }));
    const replies = await runWorkers<SlotReply>(new URL("./fixtures/slot-worker.ts", import.meta.url), jobs);
    expect(replies.map((reply) => reply.error)).toEqual(replies.map(() => null));
    const held = replies.map((reply) => reply.held);
    expect(new Set(held).size).toBe(workers);
    for (const slot of held) expect(slots.state(slot)).toBe(HeapSlotState.Owned);
    let abandoned = 0;
    for (let slot = 1; slot <= slots.count; slot++) if (slots.state(slot) === HeapSlotState.Abandoned) abandoned++;
    expect(slots.abandoned).toBe(abandoned);
    const claims = replies.reduce((sum, reply) => sum + reply.claims, 0);
    let recorded = 0;
    for (let slot = 1; slot <= slots.count; slot++) recorded += slots.claims(slot);
    expect(recorded).toBe(claims);
    expect(replies.reduce((sum, reply) => sum + reply.borrows, 0)).toBeGreaterThan(0);
  });
});
