import { ThingPoolTarget, TypedArraysTarget } from "@tsmalloc/trace/bench";
import { describe, expect, it } from "vitest";

describe("peer contenders", () => {
  for (const [name, make] of [
    ["ThingPoolTarget", () => new ThingPoolTarget()],
    ["TypedArraysTarget", () => new TypedArraysTarget()],
  ] as const) {
    it(`${name} hands out distinct handles, takes size 0, and reuses what is freed`, () => {
      const target = make();
      const a = target.malloc(16);
      const b = target.calloc(4, 8);
      const c = target.malloc(0);
      expect(new Set([a, b, c]).size).toBe(3);
      for (const p of [a, b, c]) expect(p).toBeGreaterThan(0);
      const grown = target.realloc(a, 1000);
      expect(grown).toBeGreaterThan(0);
      target.free(grown);
      target.free(b);
      target.free(c);
      expect(target.malloc(16)).toBeGreaterThan(0);
    });
  }

  it("serve a trace's `m` events: ThingPoolTarget up to 16-byte alignment, TypedArraysTarget any", () => {
    const pool = new ThingPoolTarget();
    const p = pool.memalign(16, 40);
    expect(p).toBeGreaterThan(0);
    expect(p % 16).toBe(0);
    expect(pool.memalign(64, 40)).toBe(0);
    const arrays = new TypedArraysTarget();
    expect(arrays.memalign(4096, 40)).toBeGreaterThan(0);
  });

  it("TypedArraysTarget keeps its handle across realloc", () => {
    const target = new TypedArraysTarget();
    const p = target.malloc(4);
    expect(target.realloc(p, 8)).toBe(p);
    expect(target.realloc(p, 2)).toBe(p);
  });
});
