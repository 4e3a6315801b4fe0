import { Malloc } from "@tsmalloc/malloc";
import { ErrorCode, type HeapCheck, LinearMemory, RegionOwner } from "@tsmalloc/memory";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { expectHeapOk, fill, MiB, regionsOf, thrown } from "./helpers.ts";

// Word offsets of the heap's structures (layout.ts).
const H_MAGIC = 0;
const H_SEGMENT_COUNT = 6;
const H_FL_BITMAP = 18;
const H_SL_BITMAPS = 24;
const SEG_MAGIC = 0;
const SEG_SIZE = 1;
const SEG_HEAP = 4;
const LARGE_MAGIC_AT = 0;
const LARGE_REGION_SIZE = 1;
const LARGE_PAYLOAD = 5;
/** Header flag bits. */
const FREE = 1;
const PREV_FREE = 2;
const FIRST = 4;

/**
 * A heap with a row of used blocks carved from the end of the free space (highest first), two of
 * them freed so that free blocks sit between used ones, and a large block.
 *
 *   [free space][b5][b4][b3 free][b2][b1 free][b0] sentinel
 */
function damagedHeapScene(): { heap: Malloc; memory: LinearMemory; used: number[]; free: number[]; large: number } {
  const memory = new LinearMemory();
  const heap = new Malloc(memory);
  const row = Array.from({ length: 6 }, () => heap.malloc(100));
  row.forEach((p, i) => fill(memory, p, 100, 0x50 + i));
  heap.free(row[1]!);
  heap.free(row[3]!);
  const large = heap.malloc(MiB);
  expectHeapOk(heap);
  return { heap, memory, used: [row[0]!, row[2]!, row[4]!, row[5]!], free: [row[1]!, row[3]!], large };
}

/**
 * Sets the word at `address` to `value`, runs check(), restores the word, and returns the result;
 * check() must find nothing once the word is back.
 */
function checkWith(heap: Malloc, address: number, value: number): HeapCheck {
  const u32 = heap.memory.u32;
  const old = u32[address >>> 2]!;
  u32[address >>> 2] = value >>> 0;
  const result = heap.check();
  u32[address >>> 2] = old;
  expectHeapOk(heap);
  return result;
}

/** Expects check() to fail with a problem reported at `at`. */
function expectProblemAt(result: HeapCheck, at: number): void {
  expect(result.ok).toBe(false);
  expect(result.problems.length).toBeGreaterThan(0);
  expect(result.problems.map((p) => `0x${p.address.toString(16)}`)).toContain(`0x${at.toString(16)}`);
  for (const problem of result.problems) expect(problem.message).toEqual(expect.any(String));
}

describe("check()", () => {
  it("reports a damaged block header at the block", () => {
    const { heap, memory, used, free } = damagedHeapScene();
    for (const p of [...used, ...free]) {
      const header = memory.u32[(p >>> 2) - 1]!;
      for (const value of [0, 0xffffffff, header + 16, header - 16, header + 64 * 1024, header ^ FREE, header ^ FIRST, header ^ 8]) {
        expectProblemAt(checkWith(heap, p - 4, value), p);
      }
    }
  });

  it("reports a damaged boundary tag or check word at the block it belongs to", () => {
    const { heap, memory, used, free } = damagedHeapScene();
    // the blocks right of a free block carry its size as their left word (a boundary tag)
    for (const f of free) {
      const right = f + 112;
      expect(memory.u32[(right >>> 2) - 2]).toBe(112);
      expectProblemAt(checkWith(heap, right - 8, 96), right);
      expectProblemAt(checkWith(heap, right - 8, 0), right);
    }
    // the others carry a check word
    for (const p of [used[3]!, free[0]!]) {
      expectProblemAt(checkWith(heap, p - 8, memory.u32[(p >>> 2) - 2]! ^ 0x100), p);
    }
  });

  it("reports a damaged free-list link at the free block", () => {
    const { heap, memory, free } = damagedHeapScene();
    // both free blocks have the same size: they share a list, the newer first
    const [older, newer] = free as [number, number];
    expect(memory.u32[newer >>> 2]).toBe(older);
    expect(memory.u32[(older >>> 2) + 1]).toBe(newer);
    expectProblemAt(checkWith(heap, older + 4, 0), older); // prev link
    expectProblemAt(checkWith(heap, older + 4, older), older);
    expectProblemAt(checkWith(heap, newer, 0), older); // next link cut: older is on no list
    expectProblemAt(checkWith(heap, newer, newer + 112), newer + 112); // next link to a used block
  });

  it("reports a damaged bitmap at the heap header", () => {
    const { heap, memory } = damagedHeapScene();
    const hw = heap.address >>> 2;
    const sl = memory.u32[hw + H_SL_BITMAPS]!;
    expectProblemAt(checkWith(heap, heap.address + 4 * H_SL_BITMAPS, sl ^ 1), heap.address);
    expectProblemAt(checkWith(heap, heap.address + 4 * (H_SL_BITMAPS + 7), 1 << 3), heap.address);
    expectProblemAt(checkWith(heap, heap.address + 4 * H_FL_BITMAP, memory.u32[hw + H_FL_BITMAP]! ^ 1), heap.address);
    expectProblemAt(checkWith(heap, heap.address + 4 * H_FL_BITMAP, 0), heap.address);
  });

  it("reports damaged heap and segment headers where they are", () => {
    const { heap } = damagedHeapScene();
    const segment = heap.address - 32;
    expectProblemAt(checkWith(heap, heap.address + 4 * H_MAGIC, 0x12345678), heap.address);
    expectProblemAt(checkWith(heap, heap.address + 4 * H_SEGMENT_COUNT, 5), heap.address);
    expectProblemAt(checkWith(heap, segment + 4 * SEG_MAGIC, 0), segment);
    expectProblemAt(checkWith(heap, segment + 4 * SEG_HEAP, heap.address + 65536), segment);
    expectProblemAt(checkWith(heap, segment + 4 * SEG_SIZE, 2 * 262144), segment);
  });

  it("reports a damaged large-block record at its region, and its header at the block", () => {
    const { heap, memory, large } = damagedHeapScene();
    const region = large - 32;
    expect(regionsOf(memory, RegionOwner.MallocLarge)[0]!.address).toBe(region);
    expectProblemAt(checkWith(heap, region + 4 * LARGE_MAGIC_AT, 0), region);
    expectProblemAt(checkWith(heap, region + 4 * LARGE_REGION_SIZE, 65536), region);
    expectProblemAt(checkWith(heap, region + 4 * LARGE_PAYLOAD, large + 16), region);
    expectProblemAt(checkWith(heap, large - 4, memory.u32[(large >>> 2) - 1]! + 16), large);
    expectProblemAt(checkWith(heap, large - 4, 0), large);
    expectProblemAt(checkWith(heap, large - 8, 0), large);
  });

  it("reports problems in a second segment at that segment", () => {
    const memory = new LinearMemory();
    const heap = new Malloc(memory);
    memory.map(65536); // the heap cannot grow in place
    const p = heap.malloc(300_000);
    const segment = memory.regionAt(p)!.address;
    expect(segment).not.toBe(heap.address - 32);
    expectProblemAt(checkWith(heap, segment + 4 * SEG_MAGIC, 1), segment);
    expectProblemAt(checkWith(heap, p - 4, 0), p);
  });

  it("never throws or loops on random damage", () => {
    const { heap, memory } = damagedHeapScene();
    const segment = heap.address - 32;
    const saved = memory.u8.slice(segment, segment + 262144);
    fc.assert(
      fc.property(
        fc.array(fc.record({ offset: fc.nat(262144 / 4 - 1), value: fc.oneof(fc.nat(), fc.constantFrom(0, 16, 0xffffffff, heap.address)) }), { minLength: 1, maxLength: 4 }),
        (writes) => {
          for (const { offset, value } of writes) memory.u32[(segment >>> 2) + offset] = value;
          try {
            const result = heap.check();
            expect(typeof result.ok).toBe("boolean");
            expect(result.problems.length <= 1000).toBe(true);
            heap.stats();
          } finally {
            memory.u8.set(saved, segment);
          }
        },
      ),
      { numRuns: 300 },
    );
    expectHeapOk(heap);
  });
});

describe("free() on a damaged header", () => {
  const damaged = [ErrorCode.Corruption, ErrorCode.InvalidPointer];

  /** Damages the word at `address`, expects `call(p)` to be refused with a damage code, restores it. */
  function expectRefused(heap: Malloc, p: number, address: number, value: number, call: (p: number) => unknown): void {
    const memory = heap.memory;
    const u32 = memory.u32;
    const old = u32[address >>> 2]!;
    u32[address >>> 2] = value >>> 0;
    const before = memory.u8.slice();
    const error = thrown(() => call(p));
    expect(damaged, `${error.code}: ${error.message}`).toContain(error.code);
    expect(error.address).toBe(p);
    expect(error.message).toContain(`0x${p.toString(16)}`);
    // refused before anything was written
    expect(Buffer.compare(memory.u8.slice(), before)).toBe(0);
    u32[address >>> 2] = old;
    expectHeapOk(heap);
  }

  it("is refused as corruption or an invalid pointer, whether the left neighbour is used or free", () => {
    const { heap, memory, used } = damagedHeapScene();
    // used[2] has a used left neighbour (its left word is a check word); the others free ones
    // (their left word is a boundary tag)
    expect(used.map((p) => memory.u32[(p >>> 2) - 1]! & PREV_FREE)).toEqual([PREV_FREE, PREV_FREE, 0, PREV_FREE]);
    const calls: ((p: number) => unknown)[] = [(p) => heap.free(p), (p) => heap.realloc(p, 50), (p) => heap.realloc(p, 5000), (p) => heap.usableSize(p)];
    for (const p of used) {
      const header = memory.u32[(p >>> 2) - 1]!;
      const values = [0, 0xffffffff, 0x41414141, header + 16, header + 32, header - 16, header + 4096, header ^ FREE, header ^ PREV_FREE, header ^ 8];
      for (const value of values) {
        for (const call of calls) expectRefused(heap, p, p - 4, value, call);
      }
      // the 8 bytes before the block overwritten (a buffer underflow of the block on its left)
      for (const call of calls) {
        expectRefused(heap, p, p - 8, 0x41414141, call);
      }
    }
    // after all that, the blocks are intact and free normally
    for (const p of used) heap.free(p);
    expect(heap.stats().allocatedBlocks).toBe(1);
    expectHeapOk(heap);
  });

  it("is refused for every single-bit flip of the header", () => {
    const { heap, memory, used } = damagedHeapScene();
    for (const p of used) {
      // FIRST may stand only on a segment's first block, which sits 32 bytes into a page
      expect(p % 65536).not.toBe(32);
      const header = memory.u32[(p >>> 2) - 1]!;
      for (let bit = 0; bit < 32; bit++) {
        expectRefused(heap, p, p - 4, header ^ (1 << bit), (q) => heap.free(q));
      }
    }
  });

  it("is refused for a large block", () => {
    const { heap, memory, large } = damagedHeapScene();
    const header = memory.u32[(large >>> 2) - 1]!;
    for (const value of [0, header + 16, header - 65536, header ^ 1, header ^ 4, 0xffffffff]) {
      expectRefused(heap, large, large - 4, value, (p) => heap.free(p));
      expectRefused(heap, large, large - 4, value, (p) => heap.realloc(p, 3 * MiB));
    }
    expectRefused(heap, large, large - 8, 0, (p) => heap.free(p));
    expectRefused(heap, large, large - 32 + 4 * LARGE_PAYLOAD, large + 16, (p) => heap.free(p));
    heap.free(large);
    expectHeapOk(heap);
  });
});
