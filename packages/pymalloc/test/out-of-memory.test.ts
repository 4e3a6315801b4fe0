/*
 * Out of memory: pymalloc over a Malloc over a memory that cannot grow (a fixed buffer, or a
 * small maximum), and over raw and arena allocators that fail on demand. Running out returns 0
 * and leaves the heap valid with every block intact; when no arena can be had, small requests
 * fall back to the raw allocator as in CPython; a failure inside pymalloc's own bookkeeping (the
 * arenas vector) or a throwing arena allocator leaves the heap exactly as before.
 */
import { Malloc } from "@tsmalloc/malloc";
import { ErrorCode, LinearMemory, RegionOwner } from "@tsmalloc/memory";
import { type ArenaAllocator, inspectArenas, inspectState, Pymalloc, type PymallocOptions } from "@tsmalloc/pymalloc";
import { prng } from "@tsmalloc/testkit";
import { describe, expect, it } from "vitest";
import {
  expectError,
  expectFilled,
  expectHeapOk,
  expectSameHeap,
  expectUnchanged,
  fill,
  fixedMemory,
  FlakyRaw,
  type Heap,
  makeHeap,
  snapshot,
  snapshotMapped,
  SwitchableArenas,
} from "./helpers.ts";

const MiB = 1 << 20;
/** 16 pools of 4 KiB per arena: 7 blocks of 512 bytes per pool, 112 per arena. */
const TINY = { layout: { poolSize: 4096, arenaSize: 65536 } } as const;
const PER_TINY_ARENA = 16 * 7;

/** A heap whose raw allocator is a FlakyRaw (over a Malloc) and whose arena allocator can be switched. */
interface FlakyHeap extends Heap {
  flaky: FlakyRaw;
  arenas: SwitchableArenas;
}

function flakyHeap(options: PymallocOptions = {}, memory: LinearMemory = new LinearMemory()): FlakyHeap {
  const raw = new Malloc(memory);
  const flaky = new FlakyRaw(raw);
  const obj = new Pymalloc(flaky, options);
  const arenas = new SwitchableArenas(obj.getArenaAllocator());
  obj.setArenaAllocator(arenas);
  return { memory, raw, obj, flaky, arenas };
}

/** Blocks that the test filled: [address, bytes, fill byte]. */
type Live = [number, number, number][];

function expectAllFilled(memory: LinearMemory, live: Live): void {
  for (const [p, n, byte] of live) expectFilled(memory, p, n, byte);
}

describe("a fixed-size memory", () => {
  it("runs out: pools first, then raw blocks, then 0; the heap stays valid and every block intact", () => {
    const heap = makeHeap({}, fixedMemory(4 * MiB));
    const { obj, memory } = heap;
    const live: Live = [];
    for (;;) {
      const p = obj.malloc(64);
      if (p === 0) break;
      const byte = 1 + (live.length % 251);
      fill(memory, p, 64, byte);
      live.push([p, 64, byte]);
    }
    const pooled = live.filter(([p]) => obj.owns(p));
    const rawBlocks = live.filter(([p]) => !obj.owns(p));
    // three 1 MiB arenas (the first MiB holds the memory's header and the raw heap)
    const stats = obj.stats();
    expect(stats.arenasAllocatedCurrent).toBe(3);
    expect(pooled).toHaveLength(3 * 64 * Math.floor((16384 - 48) / 64));
    // then CPython's fallback: the raw allocator serves small requests until it is full too
    expect(rawBlocks.length).toBeGreaterThan(1000);
    expect(live.findIndex(([p]) => !obj.owns(p))).toBe(pooled.length);
    expect(stats.rawAllocatedBlocks).toBe(rawBlocks.length);
    expect(obj.allocatedBlocks()).toBe(live.length);
    expectHeapOk(obj);
    expectHeapOk(heap.raw);
    expectAllFilled(memory, live);

    // every further request fails and changes nothing
    const before = snapshot(memory);
    // (a raw block of 1..16 bytes may still fit where a 64-byte one does not)
    for (const n of [64, 100, 128, 512, 513, 4000, MiB]) expect(obj.malloc(n), `malloc(${n})`).toBe(0);
    expect(obj.calloc(4, 16)).toBe(0);
    expect(obj.calloc(100, 100)).toBe(0);
    expect(obj.realloc(0, 64)).toBe(0);
    // growing a pool block past its class needs a new block: it fails and the block stays
    const [p0] = pooled[100]!;
    expect(obj.realloc(p0, 65)).toBe(0);
    expect(obj.realloc(p0, 60)).toBe(p0); // but within the class it stays put
    expectUnchanged(heap, before);

    // a freed pool block is found again by the next request of its class, and only by it
    const [freed] = pooled.splice(5000, 1)[0]!;
    obj.free(freed);
    expect(obj.malloc(128)).toBe(0);
    const again = obj.malloc(50);
    expect(again).toBe(freed);
    expect(obj.malloc(64)).toBe(0);
    fill(memory, again, 64, 0xee);
    live.splice(
      live.findIndex(([p]) => p === freed),
      1,
      [again, 64, 0xee],
    );
    // a freed raw block makes room for a raw request
    const [rawFreed] = rawBlocks[10]!;
    obj.free(rawFreed);
    live.splice(
      live.findIndex(([p]) => p === rawFreed),
      1,
    );
    const q = obj.malloc(600);
    expect(q).toBe(0); // 600 bytes do not fit where 64 (80 with Malloc's header) were
    const r = obj.malloc(0);
    expect(r).not.toBe(0);
    expect(obj.owns(r)).toBe(false);
    obj.free(r);
    expectHeapOk(obj);
    expectAllFilled(memory, live);

    // free everything: all but one arena go back to the memory, whose pages serve anyone again
    for (const [p] of live) obj.free(p);
    expect(obj.allocatedBlocks()).toBe(0);
    expect(obj.stats().arenasAllocatedCurrent).toBe(1);
    expect(memory.stats().freeBytes).toBeGreaterThanOrEqual(2 * MiB);
    const big = obj.malloc(600_000);
    expect(big).not.toBe(0);
    expect(obj.owns(big)).toBe(false);
    obj.free(big);
    expectHeapOk(obj);
    expectHeapOk(heap.raw);
  });

  it("keeps the heap valid when mixed requests run out on a memory with a small maximum", () => {
    const heap = makeHeap({ layout: "python38" }, new LinearMemory({ maximum: 6 * MiB }));
    const { obj, memory } = heap;
    const random = prng(7);
    const live: Live = [];
    let failures = 0;
    let rawSmall = 0;
    for (let i = 0; i < 20_000; i++) {
      const roll = random();
      if (live.length > 0 && roll < 0.3) {
        const [p, n, byte] = live.splice(Math.floor(random() * live.length), 1)[0]!;
        expectFilled(memory, p, n, byte);
        obj.free(p);
        continue;
      }
      if (live.length > 0 && roll < 0.4) {
        const at = Math.floor(random() * live.length);
        const [p, n, byte] = live[at]!;
        const m = Math.floor(random() * 700);
        const q = obj.realloc(p, m);
        if (q === 0) {
          failures++;
          expectFilled(memory, p, n, byte);
          continue;
        }
        expectFilled(memory, q, Math.min(n, m), byte);
        fill(memory, q, m, byte);
        live[at] = [q, m, byte];
        continue;
      }
      const r = random();
      const n = r < 0.85 ? Math.floor(random() * 513) : r < 0.97 ? 513 + Math.floor(random() * 20_000) : 20_000 + Math.floor(random() * 400_000);
      const p = random() < 0.2 ? obj.calloc(1, n) : obj.malloc(n);
      if (p === 0) {
        failures++;
        continue;
      }
      if (n >= 1 && n <= 512 && !obj.owns(p)) rawSmall++;
      const byte = 1 + (i % 251);
      fill(memory, p, n, byte);
      live.push([p, n, byte]);
      if (i % 2000 === 0) expectHeapOk(obj);
    }
    expect(memory.byteLength).toBeLessThanOrEqual(6 * MiB);
    expect(failures).toBeGreaterThan(100);
    expect(rawSmall).toBeGreaterThan(0);
    expectHeapOk(obj);
    expectHeapOk(heap.raw);
    expect(obj.allocatedBlocks()).toBe(live.length);
    expectAllFilled(memory, live);
    for (const [p] of live) obj.free(p);
    expect(obj.allocatedBlocks()).toBe(0);
    expect(obj.stats().arenasAllocatedCurrent).toBeLessThanOrEqual(1);
    expectHeapOk(obj);
  });
});

describe("when no arena can be had", () => {
  it("small requests fall back to the raw allocator, which keeps them", () => {
    const heap = flakyHeap();
    const { obj, memory, arenas } = heap;
    let hooks = 0;
    const withHook = new Pymalloc(heap.flaky, { arenaAllocator: arenas, onNewArena: () => hooks++, register: false });
    arenas.mode = "refuse";
    for (const target of [obj, withHook]) {
      const allocs = arenas.allocs;
      const p = target.malloc(16);
      const q = target.calloc(3, 8);
      expect(p).not.toBe(0);
      expect(q).not.toBe(0);
      expect(target.owns(p)).toBe(false);
      expect(target.owns(q)).toBe(false);
      expectFilled(memory, q, 24, 0);
      expect(target.usableSize(p)).toBeGreaterThanOrEqual(16);
      expect(target.stats().rawAllocatedBlocks).toBe(2);
      expect(target.allocatedBlocks()).toBe(2);
      // CPython asks for an arena again on every request
      expect(arenas.allocs - allocs).toBe(2);
      fill(memory, p, 16, 0x5a);
      // a raw block stays raw when it shrinks, even once arenas are back
      arenas.mode = "pass";
      const r = target.realloc(p, 8);
      expect(target.owns(r)).toBe(false);
      expectFilled(memory, r, 8, 0x5a);
      const s = target.malloc(16);
      expect(target.owns(s)).toBe(true);
      for (const b of [r, q, s]) target.free(b);
      expect(target.allocatedBlocks()).toBe(0);
      expect(target.stats().rawAllocatedBlocks).toBe(0);
      expectHeapOk(target);
      arenas.mode = "refuse";
    }
    // onNewArena runs at the start of every new-arena request of its heap: two refused, one served
    expect(hooks).toBe(3);
  });

  it("and the raw allocator has nothing either, requests return 0 and change nothing", () => {
    const heap = flakyHeap(TINY);
    const { obj, memory, arenas, flaky } = heap;
    const p = obj.malloc(100);
    const big = obj.malloc(3000);
    fill(memory, p, 100, 0x11);
    fill(memory, big, 3000, 0x22);
    // the rest of the first arena: 15 pools of 512-byte blocks
    for (let i = 0; i < 15 * 7; i++) expect(obj.owns(obj.malloc(512))).toBe(true);
    expect(inspectState(obj).usableArenas).toBe(0);
    arenas.mode = "refuse";
    flaky.refuseAll(true);
    const before = snapshot(memory);
    expect(obj.malloc(8)).toBe(0); // class 0 has no pool: a new pool needs a new arena
    expect(obj.malloc(512)).toBe(0);
    expect(obj.malloc(0)).toBe(0);
    expect(obj.malloc(600)).toBe(0);
    expect(obj.calloc(2, 8)).toBe(0);
    expect(obj.calloc(0, 8)).toBe(0);
    expect(obj.realloc(p, 200)).toBe(0); // class 12 has no pool either
    expect(obj.realloc(p, 0)).toBe(0);
    expect(obj.realloc(big, 6000)).toBe(0);
    expect(obj.realloc(0, 16)).toBe(0);
    expectUnchanged(heap, before);
    // the used pool of class 6 still has room: that needs nothing from anyone
    const q = obj.malloc(112);
    expect(obj.owns(q)).toBe(true);
    expect(obj.realloc(p, 97)).toBe(p);
    obj.free(q);
    expectFilled(memory, p, 97, 0x11);
    expectFilled(memory, big, 3000, 0x22);
    expectHeapOk(obj);
  });
});

describe("the arenas vector", () => {
  it("failing to be created makes small requests fall back to raw, or return 0, and changes nothing", () => {
    const heap = flakyHeap();
    const { obj, memory, flaky } = heap;
    flaky.refuse.realloc = true;
    const p = obj.malloc(16);
    expect(p).not.toBe(0);
    expect(obj.owns(p)).toBe(false);
    expect(inspectState(obj).maxarenas).toBe(0);
    // an arena asked for while the vector could not hold it was given back
    expect(heap.arenas.frees).toBe(heap.arenas.allocs);
    expect(memory.regions().filter((r) => r.owner === RegionOwner.Arena)).toEqual([]);
    flaky.refuse.malloc = true;
    const before = snapshotMapped(memory);
    expect(obj.malloc(16)).toBe(0);
    expectSameHeap(heap, before);
    expect(heap.arenas.frees).toBe(heap.arenas.allocs);
    flaky.refuseAll(false);
    const q = obj.malloc(16);
    expect(obj.owns(q)).toBe(true);
    expect(inspectState(obj).maxarenas).toBe(16);
    obj.free(p);
    obj.free(q);
    expectHeapOk(obj);
  });

  it("failing to grow (16 -> 32 slots) returns 0 and changes nothing; growing later works", () => {
    const heap = flakyHeap(TINY);
    const { obj, memory, flaky } = heap;
    const live: Live = [];
    for (let i = 0; i < 16 * PER_TINY_ARENA; i++) {
      const p = obj.malloc(512);
      fill(memory, p, 512, 1 + (i % 251));
      live.push([p, 512, 1 + (i % 251)]);
    }
    expect(live.every(([p]) => obj.owns(p))).toBe(true);
    const state = inspectState(obj);
    expect(state.maxarenas).toBe(16);
    expect(state.unusedArenaObjects).toBe(0);
    expect(state.usableArenas).toBe(0);
    flaky.refuseAll(true);
    const frees = heap.arenas.frees;
    const before = snapshotMapped(memory);
    expect(obj.malloc(512)).toBe(0);
    expect(obj.malloc(16)).toBe(0);
    expect(obj.calloc(1, 100)).toBe(0);
    expect(obj.realloc(live[0]![0], 100)).toBe(0);
    // (an arena asked for before the vector failed was given back)
    expect(heap.arenas.frees - frees).toBe(heap.arenas.allocs - 16);
    expectSameHeap(heap, before);
    // only the vector fails: small requests go to raw
    flaky.refuse.malloc = false;
    const fallback = obj.malloc(100);
    expect(obj.owns(fallback)).toBe(false);
    obj.free(fallback);
    // and with the raw allocator back, the vector doubles and the 17th arena comes
    flaky.refuseAll(false);
    const p = obj.malloc(512);
    expect(obj.owns(p)).toBe(true);
    fill(memory, p, 512, 0xab);
    live.push([p, 512, 0xab]);
    expect(inspectState(obj).maxarenas).toBe(32);
    expect(inspectArenas(obj).filter((a) => a.address !== 0)).toHaveLength(17);
    expectHeapOk(obj);
    expectAllFilled(memory, live);
    // the arenas made before the vector moved are still managed right: free them, checking
    for (let i = 0; i < live.length; i++) {
      obj.free(live[i]![0]);
      if (i % 97 === 0) expectHeapOk(obj);
    }
    expect(obj.allocatedBlocks()).toBe(0);
    expect(obj.stats().arenasAllocatedCurrent).toBe(1);
    expectHeapOk(obj);
  });
});

describe("an arena allocator that throws", () => {
  it("leaves the heap exactly as before when a later arena is asked for", () => {
    const heap = flakyHeap(TINY);
    const { obj, memory, arenas } = heap;
    const small = obj.malloc(200);
    fill(memory, small, 200, 0x77);
    // the rest of the first arena: 15 pools of 512-byte blocks
    const live: Live = [];
    for (let i = 0; i < 15 * 7; i++) {
      const p = obj.malloc(512);
      fill(memory, p, 512, 1 + (i % 251));
      live.push([p, 512, 1 + (i % 251)]);
    }
    expect(inspectState(obj).usableArenas).toBe(0);
    arenas.mode = "throw";
    const before = snapshot(memory);
    expect(() => obj.malloc(512)).toThrow("the arena allocator is broken");
    expectUnchanged(heap, before);
    expect(() => obj.calloc(16, 32)).toThrow("the arena allocator is broken");
    expectUnchanged(heap, before);
    // a realloc that needs a new pool: the old block stays, intact
    expect(() => obj.realloc(small, 300)).toThrow("the arena allocator is broken");
    expectUnchanged(heap, before);
    expect(obj.usableSize(small)).toBe(208);
    arenas.mode = "pass";
    const moved = obj.realloc(small, 300);
    expectFilled(memory, moved, 200, 0x77);
    expectAllFilled(memory, live);
    expectHeapOk(obj);
  });

  it("leaves the heap exactly as before when the first arena is asked for", () => {
    const heap = flakyHeap();
    const { obj, memory, arenas } = heap;
    arenas.mode = "throw";
    const before = snapshot(memory);
    expect(() => obj.malloc(16)).toThrow("the arena allocator is broken");
    // the heap is valid either way...
    expectHeapOk(obj);
    expectHeapOk(heap.raw);
    // ... but the arenas vector must not have been created for an arena that never came
    expect(inspectState(obj).maxarenas, "maxarenas after the throw").toBe(0);
    expect(heap.raw.stats().allocatedBlocks, "raw blocks after the throw (state block, arena map)").toBe(2);
    expectUnchanged(heap, before);
  });

  it("that returns an address outside the memory is refused with ERR_TSMALLOC_INVALID_POINTER", () => {
    const heap = flakyHeap(TINY);
    const { obj, memory } = heap;
    const first = obj.malloc(16);
    for (let i = 0; i < 15 * 7; i++) obj.malloc(512);
    expect(inspectState(obj).usableArenas).toBe(0);
    const bogus: ArenaAllocator = { alloc: () => memory.byteLength + (1 << 20), free: () => undefined };
    obj.setArenaAllocator(bogus);
    const before = snapshot(memory);
    expectError(() => obj.malloc(512), ErrorCode.InvalidPointer);
    expectUnchanged(heap, before);
    expect(obj.owns(first)).toBe(true);
  });
});

describe("the constructor", () => {
  it("throws ERR_TSMALLOC_OUT_OF_MEMORY when the raw allocator cannot hold the state block or the arena map, and keeps nothing", () => {
    for (const failing of [1, 2]) {
      const memory = new LinearMemory();
      const raw = new Malloc(memory);
      let calls = 0;
      const stingy = {
        name: "stingy",
        memory,
        malloc: (n: number) => raw.malloc(n),
        calloc: (a: number, b: number) => (++calls === failing ? 0 : raw.calloc(a, b)),
        realloc: (p: number, n: number) => raw.realloc(p, n),
        free: (p: number) => raw.free(p),
      };
      const error = expectError(() => new Pymalloc(stingy), ErrorCode.OutOfMemory);
      expect(error.message).toContain(failing === 1 ? "state block" : "arena map");
      expect(raw.stats().allocatedBlocks).toBe(0);
      expect(memory.getRoot("pyml")).toBe(0);
      expectHeapOk(raw);
    }
  });

  it("fits a heap into a small fixed memory, which then runs out of arenas at once", () => {
    // 1 MiB: the header page, the raw heap's 256 KiB segment, and no room for a 1 MiB arena
    const heap = makeHeap({}, fixedMemory(MiB));
    const { obj } = heap;
    const p = obj.malloc(64);
    expect(p).not.toBe(0);
    expect(obj.owns(p)).toBe(false);
    expect(obj.stats().arenasAllocatedTotal).toBe(0);
    obj.free(p);
    expectHeapOk(obj);
  });
});
