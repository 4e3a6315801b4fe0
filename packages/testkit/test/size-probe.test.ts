import { describe, expect, it } from "vitest";
import { BOUNDARY_REACH, boundarySizes, probeSizes, type SizeProbeTarget } from "../src/index.ts";

class AllowedError extends Error {}

/**
 * A bump allocator over a plain buffer, correct unless told to misbehave: the probe must pass it,
 * and must catch each misbehaviour.
 */
class Bump implements SizeProbeTarget {
  readonly name = "bump";
  readonly memory = { u8: new Uint8Array(1 << 20) };
  readonly flaw: string;
  top = 64;
  constructor(flaw: "none" | "outside" | "overlap" | "throws" | "garbles" | "broken heap" | "dirty calloc" | "drops data" = "none") {
    this.flaw = flaw;
  }
  malloc(size: number): number {
    if (this.flaw === "outside" && size === 2 ** 31) return 4096; // a size that wrapped to 0
    if (this.flaw === "overlap" && size === 100) return 64; // the first live block
    if (this.flaw === "throws" && size === 100) throw new RangeError("size wrapped");
    if (size > this.memory.u8.length - this.top) return 0;
    const p = this.top;
    this.top += Math.max(size, 1) + 15 - ((Math.max(size, 1) + 15) % 16);
    return p;
  }
  calloc(nelem: number, elsize: number): number {
    const p = this.malloc(nelem * elsize);
    if (p !== 0 && this.flaw !== "dirty calloc") this.memory.u8.fill(0, p, p + nelem * elsize);
    else if (p !== 0) this.memory.u8[p] = 9;
    return p;
  }
  realloc(ptr: number, size: number): number {
    if (this.flaw === "garbles" && ptr !== 0 && size > 2 ** 32) this.memory.u8[ptr] = 0;
    if (size > 2 ** 33) throw new AllowedError("too large");
    const q = this.malloc(size);
    if (q !== 0 && ptr !== 0) this.memory.u8.copyWithin(q, ptr, ptr + Math.min(size, this.flaw === "drops data" ? 1 : 40));
    return q;
  }
  free(_ptr: number): void {}
  check(): { ok: boolean; problems: { address: number; message: string }[] } {
    return this.flaw === "broken heap" && this.top > 1000 ? { ok: false, problems: [{ address: 16, message: "lost" }] } : { ok: true, problems: [] };
  }
}

const SMALL_SIZES = [1, 100, 5000, 2 ** 31, 2 ** 32, 2 ** 33 + 1];
const options = { sizes: SMALL_SIZES, isAllowedError: (e: unknown) => e instanceof AllowedError };

describe("boundarySizes", () => {
  it("holds every integer within reach of 2^31, 2^32 and the given bases, then 2^40 and 2^53 - 1, sorted, no negatives", () => {
    const sizes = boundarySizes([10, 2 ** 20]);
    for (const base of [2 ** 31, 2 ** 32, 2 ** 20]) {
      for (let k = -BOUNDARY_REACH; k <= BOUNDARY_REACH; k++) expect(sizes).toContain(base + k);
    }
    expect(sizes).toContain(0);
    expect(sizes).toContain(10 + BOUNDARY_REACH);
    expect(sizes.every((n) => n >= 0 && Number.isSafeInteger(n))).toBe(true);
    expect(sizes.at(-2)).toBe(2 ** 40);
    expect(sizes.at(-1)).toBe(Number.MAX_SAFE_INTEGER);
    expect([...sizes].sort((a, b) => a - b)).toEqual(sizes);
    expect(new Set(sizes).size).toBe(sizes.length);
  });
});

describe("probeSizes", () => {
  it("passes an allocator that keeps the contract (0, a usable block, or an allowed error)", () => {
    expect(probeSizes(new Bump(), options)).toBeNull();
  });

  it.each([
    ["outside", /malloc\(2147483648\) returned 0x1000, which cannot hold 2147483648 bytes in a memory of 1048576/],
    ["overlap", /malloc\(100\) returned 0x40 \(100 bytes\), over the live block 0x40 \(24 bytes\)/],
    ["throws", /malloc\(100\) threw RangeError: size wrapped/],
    ["garbles", /realloc\(0x[0-9a-f]+, 8589934593\) threw and damaged the block it was given/],
    ["broken heap", /after the calls of size \d+, check\(\) found 1 problem\(s\), first at 0x10: lost/],
    ["dirty calloc", /calloc\(1, 1\) returned 0x[0-9a-f]+, whose bytes are not zero/],
    ["drops data", /realloc\(0x[0-9a-f]+, 100\) moved the block to 0x[0-9a-f]+ without its byte 1/],
  ] as const)("catches an allocator whose flaw is: %s", (flaw, message) => {
    expect(probeSizes(new Bump(flaw), options)).toMatch(message);
  });

  it("catches a call that writes over a live block", () => {
    const target = new Bump();
    const malloc = target.malloc.bind(target);
    let calls = 0;
    target.malloc = (size: number): number => {
      // the fourth block is the one to resize; the live blocks come first
      if (++calls === 6) target.memory.u8[64] = 0;
      return malloc(size);
    };
    expect(probeSizes(target, options)).toMatch(/after the calls of size 1, the live block 0x40 changed at byte 0/);
  });

  it("calls memalign at each alignment when the target has one", () => {
    const target = new Bump();
    const seen: number[] = [];
    const withMemalign: SizeProbeTarget = Object.assign(target, {
      memalign(alignment: number, size: number): number {
        seen.push(alignment);
        return target.malloc(size);
      },
    });
    expect(probeSizes(withMemalign, { ...options, alignments: [32, 4096] })).toBeNull();
    expect(seen.length).toBe(2 * SMALL_SIZES.length);
  });
});
