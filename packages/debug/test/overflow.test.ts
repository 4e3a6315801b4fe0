/*
 * Sizes where 32-bit arithmetic breaks (issue 16): the hooks add 24 (or 32) bytes to each request,
 * (12 or 16 on wasm32), so n + 3 * SST must not wrap or slip under a limit. malloc, calloc both ways and realloc at
 * 2^31 ± k, 2^32 ± k, the memory's limits ± k (minus the hooks' bytes), 2^40 and 2^53 − 1 return
 * 0, a usable block or a TsmallocError, over malloc and over pymalloc, and the heap and its live
 * blocks survive.
 */
import { type DebugLayoutName, DebugLayouts, withDebugHooks } from "@tsmalloc/debug";
import { Malloc } from "@tsmalloc/malloc";
import { type Allocator, isTsmallocError, LinearMemory, MAX_MEMORY_BYTES } from "@tsmalloc/memory";
import { Pymalloc } from "@tsmalloc/pymalloc";
import { boundarySizes, probeSizes } from "@tsmalloc/testkit";
import { describe, expect, it } from "vitest";

const WRAPPED: Record<string, (memory: LinearMemory) => Allocator> = {
  malloc: (memory) => new Malloc(memory),
  pymalloc: (memory) => new Pymalloc(new Malloc(memory)),
};

describe("sizes near 2^31 and 2^32", () => {
  const cases: [string, DebugLayoutName, boolean][] = [];
  for (const wrapped of Object.keys(WRAPPED)) {
    for (const layout of ["64-bit", "wasm32"] as const) for (const serialNumbers of [false, true]) cases.push([wrapped, layout, serialNumbers]);
  }

  it.each(cases)("hooks over %s (layout %s, serial numbers %s): malloc, calloc and realloc keep the contract", (wrapped, layout, serialNumbers) => {
    const base = WRAPPED[wrapped]!(new LinearMemory({ maximum: 16 << 20 }));
    const hooks = withDebugHooks(base, { api: "o", serialNumbers, layout });
    const bases = [2 ** 30, MAX_MEMORY_BYTES, 2 ** 32 - 2 ** 24, hooks.memory.maxByteLength];
    for (const { extraBytes, extraBytesSerial } of Object.values(DebugLayouts)) {
      for (const extra of [extraBytes, extraBytesSerial]) bases.push(2 ** 31 - extra, 2 ** 32 - extra, hooks.memory.maxByteLength - extra);
    }
    expect(probeSizes(hooks, { sizes: boundarySizes(bases), isAllowedError: (e) => isTsmallocError(e) })).toBeNull();
    expect(hooks.stats().allocatedBlocks).toBe(1); // the hooks' state block
    expect(hooks.check().problems).toEqual([]);
  });
});
