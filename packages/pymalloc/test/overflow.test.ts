/*
 * Sizes where 32-bit arithmetic breaks (issue 16): malloc, calloc both ways and realloc of
 * pymalloc, in each layout, at 2^31 ± k, 2^32 ± k, the memory's limits ± k, 2^40 and 2^53 − 1
 * return 0, a usable block or a TsmallocError, and the heap and its live blocks survive. Pool
 * blocks sit around the probe (the live blocks and the block it resizes are pool blocks), so a
 * size that slipped into the small-request path would show as a pool block where none fits.
 */
import { Malloc } from "@tsmalloc/malloc";
import { isTsmallocError, LinearMemory, MAX_MEMORY_BYTES } from "@tsmalloc/memory";
import { Pymalloc, PymallocLayouts, type PymallocLayoutName } from "@tsmalloc/pymalloc";
import { boundarySizes, probeSizes } from "@tsmalloc/testkit";
import { describe, expect, it } from "vitest";

describe("sizes near 2^31 and 2^32", () => {
  it.each(Object.keys(PymallocLayouts) as PymallocLayoutName[])("layout %s: malloc, calloc and realloc keep the contract", (layout) => {
    const obj = new Pymalloc(new Malloc(new LinearMemory({ maximum: 16 << 20 })), { layout });
    const max = obj.memory.maxByteLength;
    const sizes = boundarySizes([2 ** 30, MAX_MEMORY_BYTES, 2 ** 32 - 2 ** 24, max, 2 ** 32 + obj.layout.smallRequestThreshold]);
    expect(probeSizes(obj, { sizes, isAllowedError: (e) => isTsmallocError(e) })).toBeNull();
    expect(obj.allocatedBlocks()).toBe(0);
    expect(obj.check().problems).toEqual([]);
  });
});
