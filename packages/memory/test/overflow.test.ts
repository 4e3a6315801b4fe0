/*
 * Sizes where 32-bit arithmetic breaks (issue 16), for the region allocator and the block
 * helpers: map, remap and grow at 2^31 ± k, 2^32 ± k, the memory's limits ± k, 2^40 and 2^53 − 1,
 * at every alignment class, return 0 / false or a usable region, and view, bytes, fill and copy
 * refuse a range that leaves the memory; the regions already mapped keep their bytes and the
 * page map stays consistent.
 */
import { isTsmallocError, LinearMemory, MAX_MEMORY_BYTES, PAGE_SIZE, RegionOwner } from "@tsmalloc/memory";
import { boundarySizes } from "@tsmalloc/testkit";
import { describe, expect, it } from "vitest";
import { expectError, MiB } from "./support.ts";

const ALIGNMENTS = [PAGE_SIZE, MiB, 2 ** 30, 2 ** 31];

function sizesFor(memory: LinearMemory): number[] {
  const max = memory.maxByteLength;
  return boundarySizes([2 ** 30, MAX_MEMORY_BYTES, 2 ** 32 - 2 ** 24, max, max - memory.headerBytes, ...ALIGNMENTS.map((a) => 2 ** 32 - a)]);
}

/** A memory of at most 16 MiB with one live region full of 0x5a. */
function withLiveRegion(): { memory: LinearMemory; live: number } {
  const memory = new LinearMemory({ maximum: 16 * MiB });
  const live = memory.map(3 * PAGE_SIZE);
  memory.fill(live, 0x5a, 3 * PAGE_SIZE);
  return { memory, live };
}

function expectLiveIntact(memory: LinearMemory, live: number, label: string): void {
  const u8 = memory.u8;
  let changed = -1;
  for (let i = 0; i < 3 * PAGE_SIZE && changed < 0; i += 509) if (u8[live + i] !== 0x5a || u8[live + 3 * PAGE_SIZE - 1 - i] !== 0x5a) changed = i;
  expect(changed, label).toBe(-1);
  expect(memory.regionAt(live), label).toEqual({ address: live, size: 3 * PAGE_SIZE, owner: RegionOwner.User });
}

describe("sizes near 2^31 and 2^32", () => {
  it("map returns 0 or a usable region of at least the size, at every alignment, and frees it whole", () => {
    const { memory, live } = withLiveRegion();
    const mapped = memory.stats().mappedBytes;
    for (const n of sizesFor(memory)) {
      for (const alignment of ALIGNMENTS) {
        const label = `map(${n}, { alignment: ${alignment} })`;
        const region = memory.map(n, { alignment });
        if (region !== 0) {
          expect(region % alignment, label).toBe(0);
          expect(region + n, label).toBeLessThanOrEqual(memory.byteLength);
          expect(region >= live + 3 * PAGE_SIZE || region + n <= live, label).toBe(true);
          memory.u8[region] = 1;
          memory.u8[region + n - 1] = 2;
          expect(memory.unmap(region), label).toBeGreaterThanOrEqual(n);
        }
        expect(memory.stats().mappedBytes, label).toBe(mapped);
      }
    }
    expectLiveIntact(memory, live, "after map");
  });

  it("remap returns false or resizes in place; the region keeps its bytes either way", () => {
    const { memory, live } = withLiveRegion();
    for (const n of sizesFor(memory)) {
      const label = `remap(live, ${n})`;
      if (memory.remap(live, n)) {
        expect(memory.regionAt(live)!.size, label).toBeGreaterThanOrEqual(n);
        expect(memory.remap(live, 3 * PAGE_SIZE), label).toBe(true);
      }
      expectLiveIntact(memory, live, label);
    }
  });

  it("grow returns false past the maximum and leaves the regions alone", () => {
    const { memory, live } = withLiveRegion();
    for (const n of sizesFor(memory)) {
      const before = memory.byteLength;
      const grew = memory.grow(n);
      expect(grew, `grow(${n})`).toBe(before + n <= memory.maxByteLength);
      expectLiveIntact(memory, live, `grow(${n})`);
    }
  });

  it("view, bytes, fill and copy refuse a length that leaves the memory, and change nothing", () => {
    const { memory, live } = withLiveRegion();
    for (const n of sizesFor(memory)) {
      if (live + n <= memory.byteLength) continue;
      for (const call of [
        () => memory.view(Uint8Array, live, n),
        () => memory.view(Float64Array, live, n),
        () => memory.bytes(live, n),
        () => memory.fill(live, 0, n),
        () => memory.copy(live, PAGE_SIZE, n),
        () => memory.copy(PAGE_SIZE, live, n),
      ]) {
        const error = expectError(call, "ERR_TSMALLOC_INVALID_POINTER");
        expect(isTsmallocError(error)).toBe(true);
      }
    }
    expectLiveIntact(memory, live, "after the helpers");
  });
});
