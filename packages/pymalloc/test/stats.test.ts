import { Malloc } from "@tsmalloc/malloc";
import { LinearMemory, RegionOwner } from "@tsmalloc/memory";
import { prng } from "@tsmalloc/testkit";
import { describe, expect, it } from "vitest";
import { collectStats, formatStats, formatStatsLine, Pymalloc } from "../src/index.ts";
import {
  ARENA,
  arenaOf,
  byteLinesSum,
  expectOk,
  fillPools,
  freeAll,
  liveArenas,
  makeHeap,
  misalignedArenaAllocator,
} from "./rules-helpers.ts";

describe("stats() numbers", () => {
  it("an empty heap: no arenas, only the arena map and the state block", () => {
    const { obj } = makeHeap();
    expect(obj.stats()).toEqual({
      smallRequestThreshold: 512,
      numClasses: 32,
      poolSize: 16384,
      arenaSize: 1048576,
      classes: [],
      arenasAllocatedTotal: 0,
      arenasReclaimed: 0,
      arenasHighwaterMark: 0,
      arenasAllocatedCurrent: 0,
      bytesInAllocatedBlocks: 0,
      bytesInAvailableBlocks: 0,
      unusedPools: 0,
      bytesLostToPoolHeaders: 0,
      bytesLostToQuantization: 0,
      bytesLostToArenaAlignment: 0,
      total: 0,
      bytesLostToArenaMapRoot: 32768,
      rawAllocatedBlocks: 0,
      metadataBytes: 32768 + 900,
      remoteFreesPending: 0,
      allocatedBlocks: 0,
      allocatedBytes: 0,
      mappedBytes: 0,
    });
    expectOk(obj);
  });

  it("one 16-byte block: class 0, one pool, 1 in use, 1020 available, 63 unused pools", () => {
    const { obj } = makeHeap();
    obj.malloc(16);
    expect(obj.stats()).toEqual({
      smallRequestThreshold: 512,
      numClasses: 32,
      poolSize: 16384,
      arenaSize: 1048576,
      classes: [{ index: 0, size: 16, pools: 1, blocksInUse: 1, availableBlocks: 1020 }],
      arenasAllocatedTotal: 1,
      arenasReclaimed: 0,
      arenasHighwaterMark: 1,
      arenasAllocatedCurrent: 1,
      bytesInAllocatedBlocks: 16,
      bytesInAvailableBlocks: 1020 * 16,
      unusedPools: 63,
      bytesLostToPoolHeaders: 48,
      bytesLostToQuantization: 0, // (16384 - 48) % 16
      bytesLostToArenaAlignment: 0,
      total: 1048576,
      bytesLostToArenaMapRoot: 32768,
      rawAllocatedBlocks: 0,
      metadataBytes: 32768 + 16 * 48 + 900,
      remoteFreesPending: 0,
      allocatedBlocks: 1,
      allocatedBytes: 16,
      mappedBytes: 1048576,
    });
    expectOk(obj);
  });

  it("24 bytes: class 1 (32 bytes), 509 available, 16 bytes of quantization", () => {
    const { obj } = makeHeap();
    obj.malloc(24);
    const stats = obj.stats();
    expect(stats.classes).toEqual([{ index: 1, size: 32, pools: 1, blocksInUse: 1, availableBlocks: 509 }]);
    expect(stats).toMatchObject({
      bytesInAllocatedBlocks: 32,
      bytesInAvailableBlocks: 509 * 32,
      unusedPools: 63,
      bytesLostToPoolHeaders: 48,
      bytesLostToQuantization: 16336 % 32,
      total: 1048576,
      allocatedBytes: 32,
    });
    expect(stats.bytesLostToQuantization).toBe(16);
    expect(byteLinesSum(stats)).toBe(1048576);
    expectOk(obj);
  });

  it("quantization per class is (16384 - 48) % size for each pool in use", () => {
    const { obj } = makeHeap();
    const expected: number[] = [];
    for (let i = 0; i < 32; i++) {
      const size = (i + 1) * 16;
      obj.malloc(size);
      expected.push(16336 % size);
    }
    const stats = obj.stats();
    expect(stats.classes.map((c) => [c.index, c.pools, c.blocksInUse, c.availableBlocks])).toEqual(
      expected.map((_, i) => [i, 1, 1, Math.floor(16336 / ((i + 1) * 16)) - 1]),
    );
    expect(stats.bytesLostToQuantization).toBe(expected.reduce((a, b) => a + b, 0));
    expect(stats.bytesLostToPoolHeaders).toBe(32 * 48);
    expect(stats.unusedPools).toBe(32);
    expect(byteLinesSum(stats)).toBe(ARENA);
    expectOk(obj);
  });

  it("full pools count in the table; empty pools only as unused pools", () => {
    const { obj } = makeHeap();
    const pools = fillPools(obj, 512, 3);
    obj.malloc(512);
    freeAll(obj, pools[1]!);
    const stats = obj.stats();
    // pools 0 and 2 full, pool 3 with one block, pool 1 empty (on freepools)
    expect(stats.classes).toEqual([{ index: 31, size: 512, pools: 3, blocksInUse: 63, availableBlocks: 30 }]);
    expect(stats).toMatchObject({ unusedPools: 61, bytesLostToPoolHeaders: 3 * 48, bytesLostToQuantization: 3 * 464, bytesInAllocatedBlocks: 63 * 512 });
    expect(byteLinesSum(stats)).toBe(ARENA);
    expectOk(obj);
  });

  it("metadataBytes: arena map + arenas vector + state block, per layout", () => {
    const a = makeHeap({ layout: "python38" }).obj;
    a.malloc(1);
    expect(a.stats()).toMatchObject({ bytesLostToArenaMapRoot: 131072, metadataBytes: 131072 + 16 * 48 + 900 });
    const b = makeHeap({ layout: "align8" }).obj;
    b.malloc(1);
    // 64 classes: 128 + 64 * 16 + 65 * 4 bytes of state
    expect(b.stats()).toMatchObject({ bytesLostToArenaMapRoot: 131072, metadataBytes: 131072 + 16 * 48 + 1412, numClasses: 64 });
  });
});

describe("the byte lines", () => {
  it("always add up to arenas x arena size, and mappedBytes is the same", () => {
    const memory = new LinearMemory();
    const raw = new Malloc(memory);
    // arenas at a chosen offset from a 1 MiB boundary (0: aligned; else one pool lost)
    let offset = 0;
    const regionOf = new Map<number, number>();
    const obj = new Pymalloc(raw, {
      arenaAllocator: {
        alloc(size: number): number {
          const region = memory.map(size + offset, { alignment: size, owner: RegionOwner.Arena });
          if (region === 0) return 0;
          regionOf.set(region + offset, region);
          return region + offset;
        },
        free(address: number): void {
          memory.unmap(regionOf.get(address)!);
          regionOf.delete(address);
        },
      },
    });
    const random = prng(42);
    const live: number[] = [];
    let checks = 0;
    const verify = (): void => {
      checks++;
      const stats = obj.stats();
      const arenas = liveArenas(obj);
      expect(stats.arenasAllocatedCurrent).toBe(arenas.length);
      expect(stats.total).toBe(arenas.length * ARENA);
      expect(byteLinesSum(stats)).toBe(stats.total);
      expect(stats.mappedBytes).toBe(stats.total);
      expect(stats.bytesLostToArenaAlignment).toBe(arenas.filter((a) => a.address % 16384 !== 0).length * 16384);
      expect(stats.unusedPools).toBe(arenas.reduce((sum, a) => sum + a.nfreepools, 0));
      expect(stats.allocatedBlocks).toBe(live.length);
      expect(stats.arenasAllocatedTotal - stats.arenasReclaimed).toBe(arenas.length);
    };
    for (const [round, off] of [0, 4096, 0, 12288, 8192].entries()) {
      offset = off;
      for (let step = 0; step < 6000; step++) {
        if (random() < 0.9 || live.length === 0) {
          const r = random();
          const n = r < 0.4 ? 400 + Math.floor(random() * 113) : r < 0.95 ? 1 + Math.floor(random() * 512) : r < 0.98 ? 600 : 0;
          live.push(obj.malloc(n));
        } else {
          const i = Math.floor(random() * live.length);
          obj.free(live[i]!);
          live[i] = live.at(-1)!;
          live.pop();
        }
        if (step % 500 === 0) verify();
      }
      verify();
      expect(obj.stats().arenasAllocatedCurrent, `round ${round}`).toBeGreaterThan(1);
      // free everything, in random order
      while (live.length > 0) {
        const i = Math.floor(random() * live.length);
        obj.free(live[i]!);
        live[i] = live.at(-1)!;
        live.pop();
        if (live.length % 500 === 0) verify();
      }
      verify();
      // every arena is wholly free: all but the last of usable_arenas went back
      expect(obj.stats(), `round ${round}`).toMatchObject({ arenasAllocatedCurrent: 1, allocatedBlocks: 0, classes: [] });
    }
    const stats = obj.stats();
    expect(stats.arenasReclaimed).toBe(stats.arenasAllocatedTotal - 1);
    expect(stats.arenasHighwaterMark).toBeGreaterThan(1);
    expect(checks).toBeGreaterThan(50);
    expectOk(obj);
  });
});

describe("arena counters", () => {
  it("reclaimed and highwater follow releases (the last wholly free arena is kept)", () => {
    const { obj, memory } = makeHeap();
    const arenas = [fillPools(obj, 512, 64), fillPools(obj, 512, 64), fillPools(obj, 512, 64)];
    const arenaRegions = (): number => memory.regions().filter((r) => r.owner === RegionOwner.Arena).length;
    expect(obj.stats()).toMatchObject({ arenasAllocatedTotal: 3, arenasReclaimed: 0, arenasHighwaterMark: 3, arenasAllocatedCurrent: 3, mappedBytes: 3 * ARENA });
    // arena 0 is emptied while it is the only usable arena: kept
    freeAll(obj, arenas[0]!.flat());
    expect(obj.stats()).toMatchObject({ arenasAllocatedTotal: 3, arenasReclaimed: 0, arenasHighwaterMark: 3, arenasAllocatedCurrent: 3, unusedPools: 64 });
    // arena 1 empties in front of it: released
    freeAll(obj, arenas[1]!.flat());
    expect(obj.stats()).toMatchObject({ arenasAllocatedTotal: 3, arenasReclaimed: 1, arenasHighwaterMark: 3, arenasAllocatedCurrent: 2, mappedBytes: 2 * ARENA, total: 2 * ARENA });
    expect(arenaRegions()).toBe(2);
    freeAll(obj, arenas[2]!.flat());
    expect(obj.stats()).toMatchObject({ arenasAllocatedTotal: 3, arenasReclaimed: 2, arenasHighwaterMark: 3, arenasAllocatedCurrent: 1, mappedBytes: ARENA, total: ARENA });
    expect(arenaRegions()).toBe(1);
    expect(liveArenas(obj).map((a) => a.index)).toEqual([0]);
    expectOk(obj);
    // filling the kept arena and one more: total 4, highwater stays 3
    fillPools(obj, 512, 64);
    const p = obj.malloc(16);
    expect(arenaOf(obj, p).index).toBe(2); // slots 1 and 2 were recycled, 2 last: it is the head
    expect(obj.stats()).toMatchObject({ arenasAllocatedTotal: 4, arenasReclaimed: 2, arenasHighwaterMark: 3, arenasAllocatedCurrent: 2, mappedBytes: 2 * ARENA });
    fillPools(obj, 512, 63);
    obj.malloc(16 * 2);
    expect(obj.stats()).toMatchObject({ arenasAllocatedTotal: 5, arenasReclaimed: 2, arenasHighwaterMark: 3, arenasAllocatedCurrent: 3 });
    obj.malloc(16 * 3);
    fillPools(obj, 512, 62);
    obj.malloc(16 * 4);
    expect(obj.stats()).toMatchObject({ arenasAllocatedTotal: 6, arenasReclaimed: 2, arenasHighwaterMark: 4, arenasAllocatedCurrent: 4, mappedBytes: 4 * ARENA });
    expectOk(obj);
  });
});

describe("formatStats", () => {
  it("an empty heap", () => {
    const { obj } = makeHeap();
    expect(obj.formatStats()).toBe(
      [
        "Small block threshold = 512, in 32 size classes.",
        "",
        "class   size   num pools   blocks in use  avail blocks",
        "-----   ----   ---------   -------------  ------------",
        "",
        "# arenas allocated total           =                    0",
        "# arenas reclaimed                 =                    0",
        "# arenas highwater mark            =                    0",
        "# arenas allocated current         =                    0",
        "0 arenas * 1048576 bytes/arena     =                    0",
        "",
        "# bytes in allocated blocks        =                    0",
        "# bytes in available blocks        =                    0",
        "0 unused pools * 16384 bytes       =                    0",
        "# bytes lost to pool headers       =                    0",
        "# bytes lost to quantization       =                    0",
        "# bytes lost to arena alignment    =                    0",
        "Total                              =                    0",
        "",
        "arena map counts",
        "# bytes lost to arena map root     =               32,768",
        "",
      ].join("\n"),
    );
  });

  it("three classes and a raw block", () => {
    const { obj } = makeHeap();
    const a = obj.malloc(16);
    obj.malloc(16);
    obj.malloc(16);
    obj.malloc(24);
    obj.malloc(500);
    obj.malloc(1000); // raw: not in the table
    obj.free(a);
    expect(obj.formatStats()).toBe(
      [
        "Small block threshold = 512, in 32 size classes.",
        "",
        "class   size   num pools   blocks in use  avail blocks",
        "-----   ----   ---------   -------------  ------------",
        "    0     16           1               2          1019",
        "    1     32           1               1           509",
        "   31    512           1               1            30",
        "",
        "# arenas allocated total           =                    1",
        "# arenas reclaimed                 =                    0",
        "# arenas highwater mark            =                    1",
        "# arenas allocated current         =                    1",
        "1 arenas * 1048576 bytes/arena     =            1,048,576",
        "",
        "# bytes in allocated blocks        =                  576",
        "# bytes in available blocks        =               47,952",
        "61 unused pools * 16384 bytes      =              999,424",
        "# bytes lost to pool headers       =                  144",
        "# bytes lost to quantization       =                  480",
        "# bytes lost to arena alignment    =                    0",
        "Total                              =            1,048,576",
        "",
        "arena map counts",
        "# bytes lost to arena map root     =               32,768",
        "",
      ].join("\n"),
    );
    expect(formatStats(obj.stats())).toBe(obj.formatStats());
    expect(formatStats(collectStats(obj))).toBe(obj.formatStats());
    expectOk(obj);
  });

  it("a reclaimed arena and a misaligned one", () => {
    const memory = new LinearMemory();
    const obj = new Pymalloc(new Malloc(memory), { arenaAllocator: misalignedArenaAllocator(memory) });
    const first = fillPools(obj, 512, 63); // the whole first arena (63 pools)
    const p = obj.malloc(100); // class 6, second arena
    expect(arenaOf(obj, p).index).toBe(1);
    freeAll(obj, first.flat()); // the first arena is released
    obj.malloc(16);
    obj.malloc(16);
    expect(obj.formatStats()).toBe(
      [
        "Small block threshold = 512, in 32 size classes.",
        "",
        "class   size   num pools   blocks in use  avail blocks",
        "-----   ----   ---------   -------------  ------------",
        "    0     16           1               2          1019",
        "    6    112           1               1           144",
        "",
        "# arenas allocated total           =                    2",
        "# arenas reclaimed                 =                    1",
        "# arenas highwater mark            =                    2",
        "# arenas allocated current         =                    1",
        "1 arenas * 1048576 bytes/arena     =            1,048,576",
        "",
        "# bytes in allocated blocks        =                  144",
        "# bytes in available blocks        =               32,432",
        "61 unused pools * 16384 bytes      =              999,424",
        "# bytes lost to pool headers       =                   96",
        "# bytes lost to quantization       =                   96",
        "# bytes lost to arena alignment    =               16,384",
        "Total                              =            1,048,576",
        "",
        "arena map counts",
        "# bytes lost to arena map root     =               32,768",
        "",
      ].join("\n"),
    );
    expectOk(obj);
  });

  it("the align8 layout: 64 classes, 256 KiB arenas, 4 KiB pools", () => {
    const { obj } = makeHeap({ layout: "align8" });
    obj.malloc(8);
    expect(obj.formatStats()).toBe(
      [
        "Small block threshold = 512, in 64 size classes.",
        "",
        "class   size   num pools   blocks in use  avail blocks",
        "-----   ----   ---------   -------------  ------------",
        "    0      8           1               1           505",
        "",
        "# arenas allocated total           =                    1",
        "# arenas reclaimed                 =                    0",
        "# arenas highwater mark            =                    1",
        "# arenas allocated current         =                    1",
        "1 arenas * 262144 bytes/arena      =              262,144",
        "",
        "# bytes in allocated blocks        =                    8",
        "# bytes in available blocks        =                4,040",
        "63 unused pools * 4096 bytes       =              258,048",
        "# bytes lost to pool headers       =                   48",
        "# bytes lost to quantization       =                    0",
        "# bytes lost to arena alignment    =                    0",
        "Total                              =              262,144",
        "",
        "arena map counts",
        "# bytes lost to arena map root     =              131,072",
        "",
      ].join("\n"),
    );
    expectOk(obj);
  });

  it("the wasm32 layout (32-bit CPython with pymalloc): 64 classes, 32-byte pool headers, 508 blocks of 8 bytes a pool", () => {
    const { obj } = makeHeap({ layout: "wasm32" });
    obj.malloc(8); // class 0
    for (let i = 0; i < 1000; i++) obj.malloc(48); // class 5: 84 blocks a pool, 12 pools
    obj.malloc(512); // class 63: 7 blocks a pool, 480 bytes lost
    // 4,064 bytes a pool after the header; quantization 12 * (4064 % 48) + 4064 % 512 = 384 + 480
    expect(obj.formatStats()).toBe(
      [
        "Small block threshold = 512, in 64 size classes.",
        "",
        "class   size   num pools   blocks in use  avail blocks",
        "-----   ----   ---------   -------------  ------------",
        "    0      8           1               1           507",
        "    5     48          12            1000             8",
        "   63    512           1               1             6",
        "",
        "# arenas allocated total           =                    1",
        "# arenas reclaimed                 =                    0",
        "# arenas highwater mark            =                    1",
        "# arenas allocated current         =                    1",
        "1 arenas * 262144 bytes/arena      =              262,144",
        "",
        "# bytes in allocated blocks        =               48,520",
        "# bytes in available blocks        =                7,512",
        "50 unused pools * 4096 bytes       =              204,800",
        "# bytes lost to pool headers       =                  448",
        "# bytes lost to quantization       =                  864",
        "# bytes lost to arena alignment    =                    0",
        "Total                              =              262,144",
        "",
        "arena map counts",
        "# bytes lost to arena map root     =              131,072",
        "",
      ].join("\n"),
    );
    expectOk(obj);
  });
});

describe("formatStatsLine (CPython's printone)", () => {
  it("pads the label to 35 columns and right-aligns the value in 21 with thousands commas", () => {
    expect(formatStatsLine("# arenas allocated total", 0)).toBe("# arenas allocated total           =                    0\n");
    expect(formatStatsLine("x", 999)).toBe("x                                  =                  999\n");
    expect(formatStatsLine("x", 1000)).toBe("x                                  =                1,000\n");
    expect(formatStatsLine("x", 1234567)).toBe("x                                  =            1,234,567\n");
    expect(formatStatsLine("x", 4294967295)).toBe("x                                  =        4,294,967,295\n");
    expect(formatStatsLine("", 100000)).toBe("                                   =              100,000\n");
    for (const line of [formatStatsLine("x", 0), formatStatsLine("Total", 1048576)]) expect(line.length).toBe(35 + 1 + 21 + 1);
  });

  it("gives a label of 35 characters or more no padding", () => {
    expect(formatStatsLine("a label of thirty-four characters.", 7)).toBe("a label of thirty-four characters. =                    7\n");
    expect(formatStatsLine("exactly thirty-five characters long", 7)).toBe("exactly thirty-five characters long=                    7\n");
    expect(formatStatsLine("thirty-six characters long, just so.", 7)).toBe("thirty-six characters long, just so.=                    7\n");
    expect(formatStatsLine("a label that is longer than thirty-five characters", 12)).toBe(
      "a label that is longer than thirty-five characters=                   12\n",
    );
  });
});
