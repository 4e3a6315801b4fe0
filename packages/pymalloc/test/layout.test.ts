import { ErrorCode } from "@tsmalloc/memory";
import { describe, expect, it } from "vitest";
import {
  arenaMapBytes,
  blocksPerPool,
  classSize,
  inspectPool,
  type PymallocLayoutOptions,
  PymallocLayouts,
  Pymalloc,
  resolveLayout,
} from "../src/index.ts";
import { expectError, expectOk, makeHeap, poolOf } from "./rules-helpers.ts";

describe("layout presets", () => {
  it("default is CPython 3.10+ on 64-bit: 16-byte classes up to 512, 16 KiB pools, 1 MiB arenas", () => {
    const layout = resolveLayout(undefined);
    expect(layout).toEqual({
      alignment: 16,
      smallRequestThreshold: 512,
      poolSize: 16384,
      arenaSize: 1048576,
      pointerSize: 8,
      alignmentShift: 4,
      numClasses: 32,
      poolBits: 14,
      arenaBits: 20,
      maxPoolsInArena: 64,
      poolOverhead: 48,
    });
    expect(Object.isFrozen(layout)).toBe(true);
    expect(resolveLayout("default")).toEqual(layout);
    expect(resolveLayout({})).toEqual(layout);
    expect(PymallocLayouts.default).toEqual({ alignment: 16, smallRequestThreshold: 512, poolSize: 16384, arenaSize: 1048576, pointerSize: 8 });
    expect(Object.isFrozen(PymallocLayouts)).toBe(true);
    expect(Object.isFrozen(PymallocLayouts.default)).toBe(true);
  });

  it("default: NUMBLOCKS is 1021 for class 0 and 31 for class 31", () => {
    const layout = resolveLayout("default");
    expect(blocksPerPool(layout, 0)).toBe(1021);
    expect(blocksPerPool(layout, 1)).toBe(510);
    expect(blocksPerPool(layout, 2)).toBe(340);
    expect(blocksPerPool(layout, 31)).toBe(31);
    for (let i = 0; i < 32; i++) {
      expect(classSize(layout, i)).toBe((i + 1) * 16);
      expect(blocksPerPool(layout, i)).toBe(Math.floor((16384 - 48) / ((i + 1) * 16)));
    }
  });

  it("python38 is CPython 3.8/3.9: 4 KiB pools, 256 KiB arenas, still 64 pools per arena", () => {
    const layout = resolveLayout("python38");
    expect(layout).toEqual({
      alignment: 16,
      smallRequestThreshold: 512,
      poolSize: 4096,
      arenaSize: 262144,
      pointerSize: 8,
      alignmentShift: 4,
      numClasses: 32,
      poolBits: 12,
      arenaBits: 18,
      maxPoolsInArena: 64,
      poolOverhead: 48,
    });
    expect(blocksPerPool(layout, 0)).toBe(253);
    expect(blocksPerPool(layout, 31)).toBe(7);
  });

  it("align8 has 64 classes of 8..512 bytes", () => {
    const layout = resolveLayout("align8");
    expect(layout).toEqual({
      alignment: 8,
      smallRequestThreshold: 512,
      poolSize: 4096,
      arenaSize: 262144,
      pointerSize: 8,
      alignmentShift: 3,
      numClasses: 64,
      poolBits: 12,
      arenaBits: 18,
      maxPoolsInArena: 64,
      poolOverhead: 48,
    });
    expect(classSize(layout, 0)).toBe(8);
    expect(classSize(layout, 1)).toBe(16);
    expect(classSize(layout, 63)).toBe(512);
    expect(blocksPerPool(layout, 0)).toBe(506);
    expect(blocksPerPool(layout, 63)).toBe(7);
  });

  it("wasm32 is 32-bit CPython (SIZEOF_VOID_P 4): 64 classes of 8..512 bytes, 4 KiB pools, 256 KiB arenas, 32-byte pool headers", () => {
    const layout = resolveLayout("wasm32");
    expect(layout).toEqual({
      alignment: 8,
      smallRequestThreshold: 512,
      poolSize: 4096,
      arenaSize: 262144,
      pointerSize: 4,
      alignmentShift: 3,
      numClasses: 64,
      poolBits: 12,
      arenaBits: 18,
      maxPoolsInArena: 64,
      poolOverhead: 32,
    });
    expect(Object.isFrozen(PymallocLayouts.wasm32)).toBe(true);
    // NUMBLOCKS(i) = (POOL_SIZE - POOL_OVERHEAD) / INDEX2SIZE(i) with a 32-byte header
    expect(blocksPerPool(layout, 0)).toBe(508);
    expect(blocksPerPool(layout, 1)).toBe(254);
    expect(blocksPerPool(layout, 63)).toBe(7);
    for (let i = 0; i < 64; i++) expect(blocksPerPool(layout, i)).toBe(Math.floor(4064 / ((i + 1) * 8)));
    // the radix tree's single 32-bit root: 2^14 arena_coverage_t of 8 bytes
    expect(arenaMapBytes(layout)).toBe(131_072);
  });

  it("the pointer size sets the pool header: 32 bytes with 4-byte pointers, 48 with 8, rounded up to the alignment", () => {
    expect(resolveLayout({ pointerSize: 4 })).toMatchObject({ alignment: 16, poolOverhead: 32 });
    expect(resolveLayout({ pointerSize: 4, alignment: 8 })).toMatchObject({ poolOverhead: 32 });
    expect(resolveLayout({ pointerSize: 8, alignment: 8 })).toMatchObject({ poolOverhead: 48 });
  });

  it("wasm32: blocks start 32 bytes into a pool and the header's fields are 4 bytes each", () => {
    const { obj } = makeHeap({ layout: "wasm32" });
    const first = obj.malloc(8);
    const pool = first - 32;
    expect(pool % 4096).toBe(0);
    const second = obj.malloc(8);
    expect(second).toBe(first + 8);
    const u32 = obj.memory.u32;
    const w = pool >>> 2;
    // ref.count, freeblock, nextpool, prevpool, arenaindex, szidx, nextoffset, maxnextoffset
    expect([u32[w], u32[w + 4], u32[w + 5], u32[w + 6], u32[w + 7]]).toEqual([2, 0, 0, 32 + 3 * 8, 4096 - 8]);
    expect(u32[w + 1]).toBe(first + 16); // the next carved block, on the free list
    expect(inspectPool(obj, pool)).toMatchObject({ count: 2, freeblock: first + 16, arenaindex: 0, szidx: 0, nextoffset: 56, maxnextoffset: 4088 });
    obj.free(first);
    expect(u32[w + 1]).toBe(first);
    obj.free(second);
    expectOk(obj);
  });

  it("fills omitted options from the default preset and derives the rest", () => {
    expect(resolveLayout({ poolSize: 4096 })).toMatchObject({ poolSize: 4096, arenaSize: 1048576, maxPoolsInArena: 256, poolBits: 12 });
    expect(resolveLayout({ smallRequestThreshold: 256 })).toMatchObject({ numClasses: 16, alignment: 16 });
    expect(resolveLayout({ alignment: 8, smallRequestThreshold: 504 })).toMatchObject({ numClasses: 63, alignmentShift: 3 });
    expect(resolveLayout({ smallRequestThreshold: 16 })).toMatchObject({ numClasses: 1 });
    // the extremes that are allowed
    expect(resolveLayout({ poolSize: 16384, arenaSize: 65536 })).toMatchObject({ maxPoolsInArena: 4, arenaBits: 16 });
    expect(resolveLayout({ arenaSize: 256 << 20 })).toMatchObject({ maxPoolsInArena: 16384, arenaBits: 28 });
    expect(resolveLayout({ poolSize: 4096, arenaSize: 16384 * 4 })).toMatchObject({ maxPoolsInArena: 16 });
  });

  it("a custom layout of 4 KiB pools in 1 MiB arenas: 256 pools per arena end to end", () => {
    const { obj } = makeHeap({ layout: { poolSize: 4096 } });
    const first = obj.malloc(512);
    const arena = first - 48;
    // the default arena allocator aligns arenas to the pool size (at least the page): nothing lost
    expect(arena % 65536).toBe(0);
    expect(obj.stats().bytesLostToArenaAlignment).toBe(0);
    expect(inspectPool(obj, arena)).toMatchObject({ szidx: 31, maxnextoffset: 4096 - 512, nextoffset: 48 + 1024 });
    for (let i = 1; i < 256 * 7; i++) obj.malloc(512);
    expect(obj.stats()).toMatchObject({ arenasAllocatedCurrent: 1, unusedPools: 0, bytesLostToQuantization: 256 * ((4096 - 48) % 512) });
    const next = obj.malloc(512);
    expect(next >= arena && next < arena + (1 << 20)).toBe(false);
    const stats = obj.stats();
    expect(stats).toMatchObject({ arenasAllocatedCurrent: 2, unusedPools: 255, total: 2 << 20 });
    expect(stats.classes).toEqual([{ index: 31, size: 512, pools: 257, blocksInUse: 256 * 7 + 1, availableBlocks: 6 }]);
    expectOk(obj);
  });

  it("Pymalloc uses the resolved layout", () => {
    expect(makeHeap().obj.layout).toEqual(resolveLayout("default"));
    expect(makeHeap({ layout: "python38" }).obj.layout).toEqual(resolveLayout("python38"));
    expect(makeHeap({ layout: { alignment: 8 } }).obj.layout).toEqual(resolveLayout({ alignment: 8 }));
  });
});

describe("resolveLayout validation", () => {
  const bad = (layout: unknown, fragment: string): void => {
    const error = expectError(() => resolveLayout(layout as Partial<PymallocLayoutOptions>), ErrorCode.InvalidOption);
    expect(error.message.startsWith("Pymalloc: ")).toBe(true);
    expect(error.message).toContain(fragment);
  };

  it("rejects unknown preset names, including Object.prototype's", () => {
    bad("python312", "layout must be one of default, python38, align8, wasm32");
    bad("", "layout must be one of");
    bad("toString", "layout must be one of");
    bad("constructor", "layout must be one of");
    bad("__proto__", "layout must be one of");
  });

  it("rejects a layout that is neither a name nor an object", () => {
    bad(null, "layout must be a preset name or an object");
    bad(42, "layout must be a preset name or an object");
    bad(true, "layout must be a preset name or an object");
  });

  it("rejects unknown keys", () => {
    bad({ poolsize: 4096 }, 'layout has no option "poolsize"');
    bad({ alignment: 16, maxPools: 64 }, 'layout has no option "maxPools"');
    bad({ poolOverhead: 48 }, 'layout has no option "poolOverhead"');
  });

  it("rejects a pointer size other than 8 or 4", () => {
    for (const pointerSize of [2, 16, 6]) bad({ pointerSize }, `layout.pointerSize must be 8 (64-bit) or 4 (32-bit, wasm32), got ${pointerSize}`);
    bad({ pointerSize: 4.5 }, "layout.pointerSize must be a positive integer");
  });

  it("rejects values that are not positive safe integers", () => {
    bad({ alignment: "16" }, "layout.alignment must be a positive integer");
    bad({ alignment: 16n }, "layout.alignment must be a positive integer");
    bad({ alignment: 0 }, "layout.alignment must be a positive integer");
    bad({ alignment: -16 }, "layout.alignment must be a positive integer");
    bad({ smallRequestThreshold: 256.5 }, "layout.smallRequestThreshold must be a positive integer");
    bad({ poolSize: Number.NaN }, "layout.poolSize must be a positive integer");
    bad({ poolSize: Number.POSITIVE_INFINITY }, "layout.poolSize must be a positive integer");
    bad({ arenaSize: 2 ** 53 }, "layout.arenaSize must be a positive integer");
    bad({ arenaSize: null }, "layout.arenaSize must be a positive integer");
  });

  it("rejects an alignment other than 8 or 16", () => {
    for (const alignment of [1, 2, 4, 12, 32, 64]) bad({ alignment }, `layout.alignment must be 8 or 16, got ${alignment}`);
  });

  it("rejects a threshold that is not a multiple of the alignment or is above 512", () => {
    bad({ smallRequestThreshold: 500 }, "layout.smallRequestThreshold must be a multiple of the alignment (16) and at most 512, got 500");
    bad({ smallRequestThreshold: 8 }, "got 8");
    bad({ alignment: 16, smallRequestThreshold: 504 }, "got 504");
    bad({ smallRequestThreshold: 528 }, "at most 512, got 528");
    bad({ alignment: 8, smallRequestThreshold: 520 }, "multiple of the alignment (8) and at most 512, got 520");
    bad({ smallRequestThreshold: 1024 }, "got 1024");
  });

  it("rejects pool sizes that are not powers of two or below 4 KiB", () => {
    bad({ poolSize: 12288 }, "layout.poolSize must be a power of two of at least 4096, got 12288");
    bad({ poolSize: 2048 }, "got 2048");
    bad({ poolSize: 4095 }, "got 4095");
    bad({ poolSize: 1 }, "got 1");
  });

  it("rejects arena sizes outside 64 KiB..256 MiB or not powers of two", () => {
    bad({ arenaSize: 3 << 20 }, "layout.arenaSize must be a power of two from 65536 to 268435456, got 3145728");
    bad({ arenaSize: 32768, poolSize: 4096 }, "got 32768");
    bad({ arenaSize: 512 << 20 }, "got 536870912");
    bad({ arenaSize: (1 << 20) + 65536 }, "got 1114112");
  });

  it("rejects a pool larger than the arena or fewer than 4 pools per arena", () => {
    bad({ poolSize: 2 << 20 }, "layout.poolSize (2097152) must divide layout.arenaSize (1048576) at least 4 times");
    bad({ poolSize: 1 << 20 }, "(1048576) must divide layout.arenaSize (1048576) at least 4 times");
    bad({ poolSize: 512 << 10 }, "at least 4 times");
    bad({ poolSize: 32768, arenaSize: 65536 }, "layout.poolSize (32768) must divide layout.arenaSize (65536) at least 4 times");
  });

  it("names the first rule broken", () => {
    bad({ alignment: 4, poolSize: 3000, arenaSize: 7 }, "layout.alignment must be 8 or 16");
    bad({ smallRequestThreshold: 1000, poolSize: 3000 }, "layout.smallRequestThreshold");
    bad({ poolSize: 3000, arenaSize: 7 }, "layout.poolSize must be a power of two");
  });

  it("the constructor throws the same error and takes nothing from the raw allocator", () => {
    const { raw } = makeHeap();
    const before = raw.stats();
    expectError(() => new Pymalloc(raw, { layout: { poolSize: 2048 } }), ErrorCode.InvalidOption);
    expectError(() => new Pymalloc(raw, { layout: "python39" as "python38" }), ErrorCode.InvalidOption);
    expect(raw.stats()).toEqual(before);
    expectOk(new Pymalloc(raw, { layout: "python38" }));
    expect(raw.stats().allocatedBlocks).toBe(before.allocatedBlocks + 2); // its state block and arena map
  });
});

describe("size class index (n - 1) >> ALIGNMENT_SHIFT", () => {
  it("default: every size 1..512 lands in class (n-1)>>4, a block of ((n-1)>>4)+1)*16 bytes", () => {
    const { obj } = makeHeap();
    for (let n = 1; n <= 512; n++) {
      const p = obj.malloc(n);
      const pool = inspectPool(obj, poolOf(obj, p));
      expect(pool.szidx).toBe((n - 1) >> 4);
      expect(obj.usableSize(p)).toBe((((n - 1) >> 4) + 1) * 16);
      expect(p % 16).toBe(0);
    }
    // 513 is the first size above the threshold
    expect(obj.owns(obj.malloc(513))).toBe(false);
    expectOk(obj);
  });

  it("align8: class (n-1)>>3, 8-byte aligned blocks", () => {
    const { obj } = makeHeap({ layout: "align8" });
    for (const n of [1, 8, 9, 16, 17, 24, 100, 504, 505, 512]) {
      const p = obj.malloc(n);
      expect(inspectPool(obj, poolOf(obj, p)).szidx).toBe((n - 1) >> 3);
      expect(obj.usableSize(p)).toBe((((n - 1) >> 3) + 1) * 8);
      expect(p % 8).toBe(0);
    }
    // two 8-byte blocks are 8 bytes apart
    const a = obj.malloc(8);
    const b = obj.malloc(8);
    expect(b - a).toBe(8);
    expectOk(obj);
  });

  it("a lower threshold sends larger requests to the raw allocator", () => {
    const { obj } = makeHeap({ layout: { smallRequestThreshold: 256 } });
    const p = obj.malloc(256);
    expect(obj.owns(p)).toBe(true);
    expect(inspectPool(obj, poolOf(obj, p)).szidx).toBe(15);
    const q = obj.malloc(257);
    expect(obj.owns(q)).toBe(false);
    expect(obj.stats().rawAllocatedBlocks).toBe(1);
    expect(obj.stats().numClasses).toBe(16);
    expectOk(obj);
  });
});
