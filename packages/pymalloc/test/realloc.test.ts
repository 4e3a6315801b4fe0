import { describe, expect, it } from "vitest";
import { freeListOf, inspectPool, regionArenaAllocator } from "../src/index.ts";
import {
  countingArenaAllocator,
  expectOk,
  filledState,
  makeHeap,
  makeSpyHeap,
  patternState,
  poolInfo,
  poolOf,
  writePattern,
} from "./rules-helpers.ts";

describe("realloc of a pool block: in place iff 4*n > 3*size", () => {
  it("a 64-byte block stays put for 49..64 bytes", () => {
    const { obj, memory } = makeHeap();
    const p = obj.malloc(64);
    writePattern(memory, p, 64, 1);
    for (let n = 64; n >= 49; n--) {
      expect(obj.realloc(p, n), `n = ${n}`).toBe(p);
      expect(obj.usableSize(p)).toBe(64);
    }
    expect(patternState(memory, p, 64, 1)).toBe("intact");
    expect(poolInfo(obj, p)).toMatchObject({ count: 1, szidx: 3 });
    expect(obj.allocatedBlocks()).toBe(1);
    expectOk(obj);
  });

  it("shrinking a 64-byte block to 48 moves it to the 48-byte class and copies 48 bytes", () => {
    const { obj, memory } = makeHeap();
    const p = obj.malloc(64);
    const after = obj.malloc(64); // p's neighbour
    writePattern(memory, p, 64, 2);
    memory.u8.fill(0x77, after, after + 64);
    const q = obj.realloc(p, 48);
    expect(q).not.toBe(p);
    expect(obj.owns(q)).toBe(true);
    expect(poolInfo(obj, q)).toMatchObject({ szidx: 2, count: 1 });
    expect(q).toBe(poolOf(obj, q) + 48);
    expect(obj.usableSize(q)).toBe(48);
    expect(patternState(memory, q, 48, 2)).toBe("intact");
    // p is free again, at the head of its pool's free list
    expect(freeListOf(obj, poolOf(obj, p))[0]).toBe(p);
    expect(poolInfo(obj, p).count).toBe(1);
    expect(obj.allocatedBlocks()).toBe(2);
    expect(filledState(memory, after, 64, 0x77)).toBe("intact");
    expectOk(obj);
  });

  it("a shrinking move copies exactly n bytes, not the old block size", () => {
    const { obj, memory } = makeHeap();
    // a dirty 48-byte block, freed, is the one the move will take (LIFO)
    const dirty = obj.malloc(48);
    obj.malloc(48); // keeps the pool in use once dirty is freed
    memory.u8.fill(0xee, dirty, dirty + 48);
    obj.free(dirty);
    const p = obj.malloc(64);
    writePattern(memory, p, 64, 3);
    const q = obj.realloc(p, 40);
    expect(q).toBe(dirty);
    expect(patternState(memory, q, 40, 3)).toBe("intact");
    // bytes 40..47 were not copied: still what the block held before
    expect(filledState(memory, q + 40, 8, 0xee)).toBe("intact");
    expectOk(obj);
  });

  it("growing a 64-byte block to 65 moves it to the 80-byte class and copies 64 bytes", () => {
    const { obj, memory } = makeHeap();
    const dirty = obj.malloc(80);
    obj.malloc(80);
    memory.u8.fill(0xee, dirty, dirty + 80);
    obj.free(dirty);
    const p = obj.malloc(64);
    const neighbour = obj.malloc(64);
    writePattern(memory, p, 64, 4);
    memory.u8.fill(0x55, neighbour, neighbour + 64);
    const q = obj.realloc(p, 65);
    expect(q).toBe(dirty);
    expect(poolInfo(obj, q).szidx).toBe(4);
    expect(obj.usableSize(q)).toBe(80);
    expect(patternState(memory, q, 64, 4)).toBe("intact");
    // the old block had 64 bytes: the next 16 are not from its neighbour
    expect(filledState(memory, q + 64, 16, 0xee)).toBe("intact");
    expect(freeListOf(obj, poolOf(obj, p))[0]).toBe(p);
    expectOk(obj);
  });

  it("for every class: 3/4*size + 1 stays, 3/4*size moves", () => {
    const { obj, memory } = makeHeap();
    for (let i = 0; i < 32; i++) {
      const size = (i + 1) * 16;
      const threeQuarters = (3 * size) / 4;
      const p = obj.malloc(size);
      writePattern(memory, p, size, i);
      expect(obj.realloc(p, threeQuarters + 1), `size ${size}`).toBe(p);
      const q = obj.realloc(p, threeQuarters);
      expect(q, `size ${size}`).not.toBe(p);
      expect(obj.usableSize(q)).toBe(Math.ceil(threeQuarters / 16) * 16);
      expect(patternState(memory, q, threeQuarters, i)).toBe("intact");
      obj.free(q);
    }
    expect(obj.allocatedBlocks()).toBe(0);
    expectOk(obj);
  });

  it("a shrink by a quarter moves even when the new size has the same class (16 -> 12)", () => {
    const { obj, memory } = makeHeap();
    const p = obj.malloc(16);
    const pool = poolOf(obj, p);
    writePattern(memory, p, 16, 12);
    expect(obj.realloc(p, 13)).toBe(p);
    const q = obj.realloc(p, 12);
    // CPython moves it anyway: a new 16-byte block (the next carved one), and p is freed
    expect(q).toBe(pool + 48 + 16);
    expect(obj.usableSize(q)).toBe(16);
    expect(patternState(memory, q, 12, 12)).toBe("intact");
    expect(freeListOf(obj, pool)).toEqual([p, pool + 48 + 32]);
    expect(obj.realloc(q, 12)).toBe(p);
    expectOk(obj);
  });

  it("growth within the pool range moves to the new class; growth is never in place", () => {
    const { obj, memory } = makeHeap();
    const p = obj.malloc(17); // 32-byte class, 17 bytes asked
    writePattern(memory, p, 32, 5);
    const q = obj.realloc(p, 33);
    expect(q).not.toBe(p);
    expect(obj.usableSize(q)).toBe(48);
    expect(patternState(memory, q, 32, 5)).toBe("intact");
    const r = obj.realloc(q, 512);
    expect(obj.usableSize(r)).toBe(512);
    expect(patternState(memory, r, 32, 5)).toBe("intact");
    expect(obj.allocatedBlocks()).toBe(1);
    expectOk(obj);
  });
});

describe("realloc and the raw allocator", () => {
  it("realloc(p, 0) moves a pool block to a raw block", () => {
    const { obj, raw } = makeSpyHeap();
    const p = obj.malloc(32);
    const rawBlocks = raw.stats().allocatedBlocks;
    const q = obj.realloc(p, 0);
    expect(q).not.toBe(0);
    expect(obj.owns(q)).toBe(false);
    expect(raw.owns(q)).toBe(true);
    expect(raw.stats().allocatedBlocks).toBe(rawBlocks + 1);
    expect(raw.calls.at(-1)).toEqual(["malloc", 0, q]);
    expect(obj.stats()).toMatchObject({ rawAllocatedBlocks: 1, allocatedBlocks: 1, classes: [] });
    expect(inspectPool(obj, poolOf(obj, p)).count).toBe(0);
    obj.free(q);
    expect(raw.stats().allocatedBlocks).toBe(rawBlocks);
    expect(obj.stats().rawAllocatedBlocks).toBe(0);
    expectOk(obj);
  });

  it("a raw block stays raw even when it shrinks below the threshold", () => {
    const { obj, raw, memory } = makeSpyHeap();
    const p = obj.malloc(1000);
    expect(obj.owns(p)).toBe(false);
    writePattern(memory, p, 1000, 6);
    const q = obj.realloc(p, 100);
    expect(obj.owns(q)).toBe(false);
    expect(raw.calls.at(-1)).toEqual(["realloc", p, 100, q]);
    expect(patternState(memory, q, 100, 6)).toBe("intact");
    const r = obj.realloc(q, 16);
    expect(obj.owns(r)).toBe(false);
    const s = obj.realloc(r, 0);
    expect(obj.owns(s)).toBe(false);
    expect(raw.calls.at(-1)).toEqual(["realloc", r, 0, s]);
    expect(raw.callsOf("malloc").length).toBe(1);
    // no arena was ever needed
    expect(obj.stats()).toMatchObject({ rawAllocatedBlocks: 1, allocatedBlocks: 1, arenasAllocatedTotal: 0 });
    obj.free(s);
    expect(obj.stats().rawAllocatedBlocks).toBe(0);
    expectOk(obj);
  });

  it("realloc(0, n) is malloc(n)", () => {
    const { obj } = makeHeap();
    const p = obj.realloc(0, 16);
    const pool = poolOf(obj, p);
    expect(p).toBe(pool + 48);
    expect(obj.realloc(0, 16)).toBe(pool + 64);
    const z = obj.realloc(0, 0);
    expect(z).not.toBe(0);
    expect(obj.owns(z)).toBe(false);
    const big = obj.realloc(0, 513);
    expect(obj.owns(big)).toBe(false);
    expect(obj.stats()).toMatchObject({ rawAllocatedBlocks: 2, allocatedBlocks: 4 });
    expectOk(obj);
  });

  it("growth of a pool block beyond 512 bytes goes raw, copying the whole 512-byte block", () => {
    const { obj, memory } = makeHeap();
    const p = obj.malloc(500);
    writePattern(memory, p, 512, 7);
    const q = obj.realloc(p, 513);
    expect(obj.owns(q)).toBe(false);
    expect(patternState(memory, q, 512, 7)).toBe("intact");
    expect(obj.stats()).toMatchObject({ rawAllocatedBlocks: 1, allocatedBlocks: 1 });
    expect(poolInfo(obj, p).count).toBe(0);
    // and a raw block shrunk back below 512 stays raw
    const r = obj.realloc(q, 64);
    expect(obj.owns(r)).toBe(false);
    expect(patternState(memory, r, 64, 7)).toBe("intact");
    expectOk(obj);
  });
});

describe("realloc failure", () => {
  it("returns 0 and leaves a pool block intact when the raw allocator cannot grow it", () => {
    const { obj, raw, memory } = makeSpyHeap();
    const p = obj.malloc(16);
    writePattern(memory, p, 16, 8);
    raw.fail.add("malloc");
    expect(obj.realloc(p, 1000)).toBe(0);
    expect(obj.realloc(p, 0)).toBe(0);
    expect(patternState(memory, p, 16, 8)).toBe("intact");
    expect(poolInfo(obj, p)).toMatchObject({ count: 1, freeblock: p + 16 });
    expect(obj.usableSize(p)).toBe(16);
    expect(obj.stats()).toMatchObject({ rawAllocatedBlocks: 0, allocatedBlocks: 1 });
    expectOk(obj);
    raw.fail.clear();
    const q = obj.realloc(p, 1000);
    expect(obj.owns(q)).toBe(false);
    expect(patternState(memory, q, 16, 8)).toBe("intact");
    expectOk(obj);
  });

  it("returns 0 and leaves a raw block intact when the raw realloc fails", () => {
    const { obj, raw, memory } = makeSpyHeap();
    const p = obj.malloc(2000);
    writePattern(memory, p, 2000, 9);
    raw.fail.add("realloc");
    expect(obj.realloc(p, 100_000)).toBe(0);
    expect(obj.realloc(p, 10)).toBe(0);
    expect(patternState(memory, p, 2000, 9)).toBe("intact");
    expect(obj.stats().rawAllocatedBlocks).toBe(1);
    raw.fail.clear();
    obj.free(p);
    expect(obj.stats().rawAllocatedBlocks).toBe(0);
    expectOk(obj);
  });

  it("returns 0 when neither a new pool nor a raw block can be had", () => {
    // 4 pools per arena: four classes fill the only arena
    const { obj, raw, memory } = makeSpyHeap({ layout: { poolSize: 16384, arenaSize: 65536 } });
    const arenas = countingArenaAllocator(regionArenaAllocator(memory));
    obj.setArenaAllocator(arenas);
    const blocks = [16, 32, 48, 64].map((n) => obj.malloc(n));
    expect(arenas.allocs.length).toBe(1);
    writePattern(memory, blocks[0]!, 16, 10);
    arenas.fail = true;
    raw.fail.add("malloc");
    expect(obj.realloc(blocks[0]!, 100)).toBe(0);
    expect(arenas.allocs.length).toBe(2); // it tried for an arena
    expect(patternState(memory, blocks[0]!, 16, 10)).toBe("intact");
    expect(obj.stats()).toMatchObject({ allocatedBlocks: 4, arenasAllocatedCurrent: 1 });
    // a shrink that moves to a class with a pool still works without new memory, and empties
    // the 64-byte pool
    const q = obj.realloc(blocks[3]!, 20);
    expect(poolOf(obj, q)).toBe(poolOf(obj, blocks[1]!));
    expect(inspectPool(obj, poolOf(obj, blocks[3]!)).count).toBe(0);
    expectOk(obj);
    // so the failed growth now succeeds in that pool, with no new arena and no raw block
    const r = obj.realloc(blocks[0]!, 100);
    expect(poolOf(obj, r)).toBe(poolOf(obj, blocks[3]!));
    expect(poolInfo(obj, r)).toMatchObject({ szidx: 6, count: 1 });
    expect(patternState(memory, r, 16, 10)).toBe("intact");
    expect(arenas.allocs.length).toBe(2);
    expectOk(obj);
  });

  it("returns 0 in a fixed small memory and keeps the old block", () => {
    const { obj, memory } = makeHeap({}, { maximum: 4 << 20 });
    const p = obj.malloc(24);
    writePattern(memory, p, 32, 11);
    expect(obj.realloc(p, 64 << 20)).toBe(0);
    expect(patternState(memory, p, 32, 11)).toBe("intact");
    expect(obj.usableSize(p)).toBe(32);
    expect(obj.stats()).toMatchObject({ rawAllocatedBlocks: 0, allocatedBlocks: 1 });
    expectOk(obj);
  });
});
