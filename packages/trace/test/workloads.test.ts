import { isTraceError, TraceErrorCode } from "@tsmalloc/trace";
import { churn, largeChurn, prng, runChurn, smallChurn } from "@tsmalloc/trace/bench";
import { describe, expect, it } from "vitest";
import { thrown } from "./helpers.ts";

describe("prng", () => {
  it("is deterministic per seed and stays in [0, 1)", () => {
    const a = prng(5);
    const b = prng(5);
    const c = prng(6);
    const first = [a(), a(), a()];
    expect([b(), b(), b()]).toEqual(first);
    expect(c()).not.toBe(first[0]);
    const r = prng(1);
    for (let i = 0; i < 10_000; i++) {
      const x = r();
      expect(x >= 0 && x < 1).toBe(true);
    }
  });
});

describe("churn", () => {
  it("draws sizes in range and slots below the live count, the same for the same seed", () => {
    const w = churn("w", 8, 512, 100, 1000, 3);
    expect(w.sizes.length).toBe(1100);
    expect(Math.min(...w.sizes)).toBeGreaterThanOrEqual(8);
    expect(Math.max(...w.sizes)).toBeLessThanOrEqual(512);
    expect(Math.max(...w.slots)).toBeLessThan(100);
    expect([...w.slots.subarray(0, 100)]).toEqual([...Array(100).keys()]);
    expect(churn("w", 8, 512, 100, 1000, 3).sizes).toEqual(w.sizes);
  });

  it("refuses sizes, counts and seeds it cannot draw from", () => {
    const bad: [number, number, number, number][] = [
      [-1, 8, 10, 10],
      [16, 8, 10, 10],
      [8, 16, 0, 10],
      [8, 16, 10, -5],
      [8, 16, 1.5, 10],
      [8, NaN, 10, 10],
    ];
    for (const [min, max, live, pairs] of bad) {
      expect(isTraceError(thrown(() => churn("bad", min, max, live, pairs)), TraceErrorCode.InvalidArgument), `${min} ${max} ${live} ${pairs}`).toBe(true);
    }
  });

  it("has the benchmark shapes", () => {
    expect(smallChurn(10).live).toBe(10_000);
    expect(largeChurn(10).live).toBe(1_000);
    expect(Math.min(...largeChurn(1000).sizes)).toBeGreaterThanOrEqual(16 << 10);
  });

  it("runChurn frees what it allocates and counts failures", () => {
    const live = new Set<number>();
    let next = 16;
    const target = {
      calloc: () => 0,
      realloc: () => 0,
      malloc: (size: number) => {
        if (size > 400) return 0;
        live.add(next);
        return (next += 16) - 16;
      },
      free: (p: number) => {
        expect(live.delete(p)).toBe(true);
      },
    };
    const w = churn("w", 8, 512, 50, 500, 9);
    const expected = [...w.sizes.subarray(0, 550)].filter((s) => s > 400).length;
    expect(runChurn(w, target, new Float64Array(50))).toBe(expected);
    expect(live.size).toBe(0);
  });
});
