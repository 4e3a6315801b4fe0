/*
 * Sizes where 32-bit arithmetic breaks: every size-taking call (malloc, calloc both ways, realloc,
 * memalign at every alignment class) at 2^31 ± k, 2^32 ± k, the memory's limits ± k, 2^40 and
 * 2^53 − 1 returns 0, a usable block or a TsmallocError, and the heap and its live blocks survive
 * (issue 16: memalign(32, 2^31) once handed out a block inside the heap).
 */
import { Malloc, MAX_ALIGNMENT } from "@tsmalloc/malloc";
import { isTsmallocError, LinearMemory, MAX_MEMORY_BYTES, MAX_PAGES, PAGE_SIZE } from "@tsmalloc/memory";
import { boundarySizes, probeSizes } from "@tsmalloc/testkit";
import { describe, expect, it } from "vitest";
import { expectFilled, expectHeapOk, fill } from "./helpers.ts";

/** memalign's alignments: malloc's own, just above it, a page, the region page, the largest. */
const ALIGNMENTS = [16, 32, 64, 4096, PAGE_SIZE, 1 << 20, MAX_ALIGNMENT];

/** The boundaries of a memory of `maxByteLength` bytes, and those of memalign's arithmetic. */
function sizesFor(maxByteLength: number): number[] {
  const bases = [2 ** 30, MAX_MEMORY_BYTES, 2 ** 32 - 2 ** 24, maxByteLength];
  for (const alignment of ALIGNMENTS) bases.push(2 ** 31 - alignment, 2 ** 32 - alignment, maxByteLength - alignment);
  return boundarySizes(bases);
}

describe("sizes near 2^31 and 2^32", () => {
  it.each([
    ["a memory of at most 16 MiB", { maximum: 16 << 20 }],
    ["a fixed 4 MiB buffer", { buffer: new ArrayBuffer(4 << 20) }],
  ] as const)("malloc, calloc, realloc and memalign keep the contract in %s", (_name, options) => {
    const heap = new Malloc(new LinearMemory(options));
    const failure = probeSizes(heap, { sizes: sizesFor(heap.memory.maxByteLength), alignments: ALIGNMENTS, isAllowedError: (e) => isTsmallocError(e) });
    expect(failure).toBeNull();
    expect(heap.stats().allocatedBlocks).toBe(0);
    expectHeapOk(heap);
  });

  it("memalign(32, 2^31) and its neighbours never return a block inside the heap (issue 16)", () => {
    const heap = new Malloc(new LinearMemory({ maximum: 16 << 20 }));
    const memory = heap.memory;
    const live = heap.malloc(100);
    fill(memory, live, 100, 0x5c);
    for (let n = 2 ** 31 - 40; n <= 2 ** 31 + 40; n++) {
      for (const alignment of [32, 64, 128]) expect(heap.memalign(alignment, n)).toBe(0);
    }
    expectFilled(memory, live, 100, 0x5c);
    expectHeapOk(heap);
  });

  it.each([
    ["memalign(32, 2^31)", (heap: Malloc) => heap.memalign(32, 2 ** 31), 2 ** 31],
    ["memalign(2^20, 2^31 - 23)", (heap: Malloc) => heap.memalign(1 << 20, 2 ** 31 - 23), 2 ** 31 - 23],
    ["malloc(2^31 + 8)", (heap: Malloc) => heap.malloc(2 ** 31 + 8), 2 ** 31 + 8],
  ] as const)("a memory that can hold it hands out a real block: %s, usable, resizable in place and freeable", (label, allocate, n) => {
    // a fresh memory each time: its pages are untouched, so only the bytes written cost memory
    const heap = new Malloc(new LinearMemory({ maximum: MAX_PAGES * PAGE_SIZE }));
    const memory = heap.memory;
    const live = heap.malloc(100);
    fill(memory, live, 100, 0x5c);
    const p = allocate(heap);
    expect(p, label).not.toBe(0);
    expect(p + n, label).toBeLessThanOrEqual(memory.byteLength);
    expect(p >= live + 100 || p + n <= live, label).toBe(true);
    expect(heap.usableSize(p), label).toBeGreaterThanOrEqual(n);
    memory.u8[p] = 1;
    memory.u8[p + n - 1] = 2;
    expectHeapOk(heap);
    // shrinking a large block keeps its region (remapped in place), growing it by a page too
    expect(heap.realloc(p, n - PAGE_SIZE), label).toBe(p);
    expect(heap.realloc(p, n), label).toBe(p);
    expect(memory.u8[p], label).toBe(1);
    heap.free(p);
    expectHeapOk(heap);
    expectFilled(memory, live, 100, 0x5c);
    heap.free(live);
    expect(heap.stats().allocatedBlocks).toBe(0);
  });
});
