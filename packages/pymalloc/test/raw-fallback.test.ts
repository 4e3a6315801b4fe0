import { prng } from "@tsmalloc/testkit";
import { describe, expect, it } from "vitest";
import { inspectState } from "../src/index.ts";
import { expectOk, filledState, makeHeap, makeSpyHeap, poolInfo, poolOf } from "./rules-helpers.ts";

describe("malloc(0) and large requests go to the raw allocator", () => {
  it("malloc(0) gives distinct non-NULL raw blocks and needs no arena", () => {
    const { obj, raw } = makeSpyHeap();
    const a = obj.malloc(0);
    const b = obj.malloc(0);
    expect(a).not.toBe(0);
    expect(b).not.toBe(0);
    expect(a).not.toBe(b);
    expect(obj.owns(a)).toBe(false);
    expect(obj.owns(b)).toBe(false);
    expect(raw.owns(a)).toBe(true);
    expect(raw.usableSize(a)).toBeGreaterThanOrEqual(1);
    expect(raw.callsOf("malloc")).toEqual([
      ["malloc", 0, a],
      ["malloc", 0, b],
    ]);
    expect(obj.usableSize(a)).toBe(raw.usableSize(a));
    expect(obj.stats()).toMatchObject({ rawAllocatedBlocks: 2, allocatedBlocks: 2, arenasAllocatedTotal: 0, classes: [] });
    expect(obj.allocatedBlocks()).toBe(2);
    expect(inspectState(obj).maxarenas).toBe(0);
    obj.free(a);
    expect(obj.stats().rawAllocatedBlocks).toBe(1);
    expect(raw.calls.at(-1)).toEqual(["free", a]);
    obj.free(b);
    expect(obj.stats().rawAllocatedBlocks).toBe(0);
    expectOk(obj);
  });

  it("512 bytes come from a pool, 513 from the raw allocator", () => {
    const { obj, raw } = makeSpyHeap();
    const small = obj.malloc(512);
    expect(obj.owns(small)).toBe(true);
    expect(poolInfo(obj, small).szidx).toBe(31);
    expect(raw.callsOf("malloc")).toEqual([]);
    for (const n of [513, 528, 4096, 1 << 20, 3 << 20]) {
      const p = obj.malloc(n);
      expect(obj.owns(p), `n = ${n}`).toBe(false);
      expect(raw.calls.at(-1)).toEqual(["malloc", n, p]);
      expect(raw.usableSize(p)).toBeGreaterThanOrEqual(n);
    }
    expect(obj.stats()).toMatchObject({ rawAllocatedBlocks: 5, allocatedBlocks: 6 });
    expectOk(obj);
  });

  it("freeing a raw block gives it back to the raw allocator and decrements the count", () => {
    const { obj, raw } = makeSpyHeap();
    const p = obj.malloc(1000);
    const rawBlocks = raw.stats().allocatedBlocks;
    expect(obj.stats().rawAllocatedBlocks).toBe(1);
    obj.free(p);
    expect(raw.calls.at(-1)).toEqual(["free", p]);
    expect(raw.stats().allocatedBlocks).toBe(rawBlocks - 1);
    expect(obj.stats().rawAllocatedBlocks).toBe(0);
    expect(obj.allocatedBlocks()).toBe(0);
    expectOk(obj);
  });
});

describe("calloc", () => {
  it("above 512 bytes calls the raw calloc with the caller's arguments, zeroed", () => {
    const { obj, raw, memory } = makeSpyHeap();
    // dirty the raw heap first, so that zeroes are calloc's doing
    const dirty = raw.inner.malloc(4000);
    memory.u8.fill(0xab, dirty, dirty + 4000);
    raw.inner.free(dirty);
    for (const [nelem, elsize] of [
      [1, 513],
      [2, 300],
      [600, 1],
      [100, 10],
    ] as const) {
      const p = obj.calloc(nelem, elsize);
      expect(obj.owns(p)).toBe(false);
      expect(raw.calls.at(-1)).toEqual(["calloc", nelem, elsize, p]);
      expect(filledState(memory, p, nelem * elsize, 0)).toBe("intact");
    }
    expect(raw.callsOf("malloc")).toEqual([]);
    expect(obj.stats()).toMatchObject({ rawAllocatedBlocks: 4, allocatedBlocks: 4, arenasAllocatedTotal: 0 });
    expectOk(obj);
  });

  it("calloc of 0 bytes is a raw calloc", () => {
    const { obj, raw } = makeSpyHeap();
    const a = obj.calloc(0, 5);
    const b = obj.calloc(5, 0);
    const c = obj.calloc(0, 0);
    expect(new Set([a, b, c]).size).toBe(3);
    for (const p of [a, b, c]) {
      expect(p).not.toBe(0);
      expect(obj.owns(p)).toBe(false);
    }
    expect(raw.callsOf("calloc").slice(-3)).toEqual([
      ["calloc", 0, 5, a],
      ["calloc", 5, 0, b],
      ["calloc", 0, 0, c],
    ]);
    expect(obj.stats().rawAllocatedBlocks).toBe(3);
    expectOk(obj);
  });

  it("up to 512 bytes comes from a pool, zeroed even over a dirty reused block", () => {
    const { obj, raw, memory } = makeSpyHeap();
    const p = obj.malloc(64);
    obj.malloc(64); // keeps the pool in use
    memory.u8.fill(0xff, p, p + 64);
    obj.free(p);
    const q = obj.calloc(4, 16);
    expect(q).toBe(p);
    expect(filledState(memory, q, 64, 0)).toBe("intact");
    expect(raw.callsOf("calloc").length).toBe(2); // only pymalloc's own state block and arena map
    // 512 = 2 * 256 still from a pool
    const big = obj.malloc(512);
    memory.u8.fill(0xff, big, big + 512);
    obj.malloc(512);
    obj.free(big);
    const r = obj.calloc(2, 256);
    expect(r).toBe(big);
    expect(filledState(memory, r, 512, 0)).toBe("intact");
    expect(obj.stats()).toMatchObject({ rawAllocatedBlocks: 0, allocatedBlocks: 4 });
    expectOk(obj);
  });

  it("zeroes the bytes asked for, as CPython's memset(ptr, 0, nbytes): the rest of the block keeps its contents", () => {
    const { obj, memory } = makeHeap();
    const p = obj.malloc(48);
    obj.malloc(48);
    memory.u8.fill(0xcd, p, p + 48);
    obj.free(p);
    const q = obj.calloc(1, 40); // a 48-byte block
    expect(q).toBe(p);
    expect(filledState(memory, q, 40, 0)).toBe("intact");
    expect(filledState(memory, q + 40, 8, 0xcd)).toBe("intact");
    expectOk(obj);
  });

  it("a fresh pool's calloc block is zero", () => {
    const { obj, memory } = makeHeap();
    for (let n = 1; n <= 512; n += 37) {
      const p = obj.calloc(1, n);
      expect(obj.owns(p)).toBe(true);
      expect(filledState(memory, p, n, 0)).toBe("intact");
    }
    expectOk(obj);
  });
});

describe("allocatedBlocks()", () => {
  it("counts pool blocks and raw blocks exactly through a mixed sequence", () => {
    const { obj, memory } = makeHeap();
    const random = prng(0x5eed);
    const live = new Map<number, number>(); // address -> requested size
    const pick = (): number => {
      const r = random();
      if (r < 0.08) return 0;
      if (r < 0.8) return 1 + Math.floor(random() * 512);
      return 513 + Math.floor(random() * 4000);
    };
    const check = (step: number): void => {
      const rawLive = [...live.keys()].filter((p) => !obj.owns(p)).length;
      expect(obj.allocatedBlocks(), `step ${step}`).toBe(live.size);
      const stats = obj.stats();
      expect(stats.allocatedBlocks, `step ${step}`).toBe(live.size);
      expect(stats.rawAllocatedBlocks, `step ${step}`).toBe(rawLive);
      expect(stats.classes.reduce((sum, c) => sum + c.blocksInUse, 0), `step ${step}`).toBe(live.size - rawLive);
    };
    for (let step = 0; step < 3000; step++) {
      const op = random();
      const keys = [...live.keys()];
      if (op < 0.45 || keys.length === 0) {
        const n = pick();
        const p = random() < 0.2 ? obj.calloc(1, n) : obj.malloc(n);
        expect(p).not.toBe(0);
        expect(live.has(p)).toBe(false);
        // a request is served by a pool exactly when it is 1..512 bytes
        expect(obj.owns(p)).toBe(n >= 1 && n <= 512);
        memory.u8[p] = step & 0xff;
        live.set(p, n);
      } else if (op < 0.75) {
        const p = keys[Math.floor(random() * keys.length)]!;
        obj.free(p);
        live.delete(p);
      } else {
        const p = keys[Math.floor(random() * keys.length)]!;
        const n = pick();
        const wasPool = obj.owns(p);
        const q = obj.realloc(p, n);
        expect(q).not.toBe(0);
        // a raw block stays raw; a pool block moves to a pool for 1..512 bytes, else raw
        expect(obj.owns(q)).toBe(wasPool && n >= 1 && n <= 512);
        live.delete(p);
        live.set(q, n);
      }
      if (step % 100 === 0) check(step);
    }
    check(3000);
    expectOk(obj);
    for (const p of live.keys()) obj.free(p);
    live.clear();
    check(3001);
    expect(obj.stats()).toMatchObject({ rawAllocatedBlocks: 0, allocatedBlocks: 0, bytesInAllocatedBlocks: 0, classes: [] });
    expectOk(obj);
  });

  it("is the sum of pool counts plus raw blocks at every step of a script", () => {
    const { obj } = makeHeap();
    const steps: Array<[() => void, number, number]> = [];
    let a = 0;
    let b = 0;
    let c = 0;
    let d = 0;
    steps.push([() => (a = obj.malloc(16)), 1, 0]);
    steps.push([() => (b = obj.malloc(0)), 2, 1]);
    steps.push([() => (c = obj.malloc(600)), 3, 2]);
    steps.push([() => (d = obj.calloc(3, 8)), 4, 2]);
    steps.push([() => (a = obj.realloc(a, 1000)), 4, 3]);
    steps.push([() => obj.free(b), 3, 2]);
    steps.push([() => (c = obj.realloc(c, 8)), 3, 2]);
    steps.push([() => obj.free(d), 2, 2]);
    steps.push([() => obj.free(c), 1, 1]);
    steps.push([() => obj.free(a), 0, 0]);
    for (const [run, blocks, rawBlocks] of steps) {
      run();
      expect(obj.allocatedBlocks()).toBe(blocks);
      expect(obj.stats()).toMatchObject({ allocatedBlocks: blocks, rawAllocatedBlocks: rawBlocks });
    }
    expect(d).toBe(poolOf(obj, d) + 48);
    expectOk(obj);
  });
});
