import { describe, expect, it } from "vitest";
import { freeListOf, inspectPool, inspectState, usedpoolsHeader } from "../src/index.ts";
import { arenaAt, expectOk, liveArenas, makeHeap, OVERHEAD, POOL, poolInfo, poolOf } from "./rules-helpers.ts";

describe("lazy carving of a new pool", () => {
  it("the first malloc of a class returns pool + 48 and leaves only the second block on the free list", () => {
    const { obj, memory } = makeHeap();
    const p = obj.malloc(16);
    const [arena] = liveArenas(obj);
    expect(arena).toBeDefined();
    const pool = arena!.address; // the default arenas are pool-aligned: the first pool is the arena's start
    expect(p).toBe(pool + OVERHEAD);
    const header = usedpoolsHeader(obj, 0);
    expect(inspectPool(obj, pool)).toEqual({
      address: pool,
      count: 1,
      freeblock: pool + 48 + 16,
      nextpool: header,
      prevpool: header,
      arenaindex: 0,
      szidx: 0,
      nextoffset: 48 + 2 * 16,
      maxnextoffset: POOL - 16,
    });
    // the second block's link is NULL: the rest of the pool is not threaded
    expect(memory.u32[(pool + 64) >>> 2]).toBe(0);
    expect(freeListOf(obj, pool)).toEqual([pool + 64]);
    expect(inspectState(obj).usedpools[0]).toBe(pool);
    expect(inspectPool(obj, header).nextpool).toBe(pool);
    expect(inspectPool(obj, header).prevpool).toBe(pool);
    expect(arenaAt(obj, 0)).toMatchObject({ nfreepools: 63, ntotalpools: 64, poolAddress: pool + POOL, freepools: 0 });
    expectOk(obj);
  });

  it("for the 512-byte class: nextoffset 48 + 1024, maxnextoffset 16384 - 512", () => {
    const { obj } = makeHeap();
    const p = obj.malloc(512);
    const pool = poolOf(obj, p);
    expect(p).toBe(pool + 48);
    expect(inspectPool(obj, pool)).toMatchObject({ count: 1, freeblock: pool + 48 + 512, szidx: 31, nextoffset: 48 + 1024, maxnextoffset: 15872 });
    expectOk(obj);
  });

  it("a never-carved pool is initialised whatever its header memory says (DUMMY_SIZE_IDX)", () => {
    const { obj, memory } = makeHeap();
    // an arena allocator that hands out dirty memory in which every pool header looks like an
    // empty pool of class 0 with a free list: only szidx = DUMMY_SIZE_IDX at carving keeps
    // pymalloc from trusting it
    const inner = obj.getArenaAllocator();
    obj.setArenaAllocator({
      alloc(size: number): number {
        const arena = inner.alloc(size);
        for (let pool = arena; pool < arena + size; pool += POOL) {
          const w = pool >>> 2;
          memory.u32[w] = 7; // count
          memory.u32[w + 2] = pool + 48 + 5 * 16; // freeblock
          memory.u32[w + 9] = 0; // szidx
          memory.u32[w + 10] = 999; // nextoffset
          memory.u32[(pool + 48 + 5 * 16) >>> 2] = pool + 48 + 9 * 16;
        }
        return arena;
      },
      free: (address, size) => inner.free(address, size),
    });
    const p = obj.malloc(16);
    const pool = poolOf(obj, p);
    expect(p).toBe(pool + 48);
    expect(inspectPool(obj, pool)).toMatchObject({ count: 1, freeblock: pool + 64, szidx: 0, nextoffset: 80 });
    expect(freeListOf(obj, pool)).toEqual([pool + 64]);
    expectOk(obj);
  });

  it("subsequent mallocs carve in address order, one block at a time", () => {
    const { obj } = makeHeap();
    const first = obj.malloc(48);
    const pool = poolOf(obj, first);
    for (let k = 1; k <= 20; k++) {
      const p = obj.malloc(48);
      expect(p).toBe(pool + 48 + k * 48);
      // after k+1 blocks: block k+1 is the (only) free block, nextoffset is past it
      expect(inspectPool(obj, pool)).toMatchObject({ count: k + 1, freeblock: pool + 48 + (k + 1) * 48, nextoffset: 48 + (k + 2) * 48 });
      expect(freeListOf(obj, pool)).toEqual([pool + 48 + (k + 1) * 48]);
    }
    expectOk(obj);
  });

  it("a 16-byte pool is full after exactly 1021 blocks and leaves usedpools", () => {
    const { obj } = makeHeap();
    const blocks: number[] = [];
    for (let i = 0; i < 1020; i++) blocks.push(obj.malloc(16));
    const pool = poolOf(obj, blocks[0]!);
    blocks.forEach((p, i) => expect(p).toBe(pool + 48 + 16 * i));
    // one block left: the last one, at maxnextoffset; nextoffset already past the end
    expect(inspectPool(obj, pool)).toMatchObject({ count: 1020, freeblock: pool + POOL - 16, nextoffset: POOL, maxnextoffset: POOL - 16 });
    expect(inspectState(obj).usedpools[0]).toBe(pool);
    const last = obj.malloc(16);
    expect(last).toBe(pool + POOL - 16);
    expect(inspectPool(obj, pool)).toMatchObject({ count: 1021, freeblock: 0, nextoffset: POOL });
    expect(inspectState(obj).usedpools[0]).toBe(0);
    // the header's list is empty again: it points at itself
    const header = usedpoolsHeader(obj, 0);
    expect(inspectPool(obj, header)).toMatchObject({ nextpool: header, prevpool: header });
    expectOk(obj);
    // the next 16-byte request carves a second pool, right after the first
    const next = obj.malloc(16);
    expect(next).toBe(pool + POOL + 48);
    expect(inspectState(obj).usedpools[0]).toBe(pool + POOL);
    expect(arenaAt(obj, 0)).toMatchObject({ nfreepools: 62, poolAddress: pool + 2 * POOL });
    expectOk(obj);
  });

  it("a 512-byte pool is full after 31 blocks", () => {
    const { obj } = makeHeap();
    const blocks: number[] = [];
    for (let i = 0; i < 31; i++) blocks.push(obj.malloc(512));
    const pool = poolOf(obj, blocks[0]!);
    expect(blocks.at(-1)).toBe(pool + 48 + 30 * 512);
    expect(inspectPool(obj, pool)).toMatchObject({ count: 31, freeblock: 0, nextoffset: 48 + 31 * 512 });
    expect(inspectState(obj).usedpools[31]).toBe(0);
    expect(poolOf(obj, obj.malloc(512))).toBe(pool + POOL);
    expectOk(obj);
  });

  it("a full pool leaves usedpools while another pool of the class stays on it", () => {
    const { obj } = makeHeap();
    const a: number[] = [];
    for (let i = 0; i < 31; i++) a.push(obj.malloc(512));
    const b = obj.malloc(512); // pool B, on usedpools[31]
    const poolA = poolOf(obj, a[0]!);
    const poolB = poolOf(obj, b);
    expect(inspectState(obj).usedpools[31]).toBe(poolB);
    const header = usedpoolsHeader(obj, 31);
    expect(inspectPool(obj, poolB)).toMatchObject({ nextpool: header, prevpool: header });
    // the full pool A is on no list
    expect(inspectPool(obj, poolA)).toMatchObject({ count: 31, freeblock: 0 });
    expectOk(obj);
  });
});

describe("freeing", () => {
  it("the first free of a full pool puts it at the front of usedpools", () => {
    const { obj, memory } = makeHeap();
    const a: number[] = [];
    for (let i = 0; i < 1021; i++) a.push(obj.malloc(16));
    const poolA = poolOf(obj, a[0]!);
    const b = obj.malloc(16);
    const poolB = poolOf(obj, b);
    expect(inspectState(obj).usedpools[0]).toBe(poolB);
    const victim = a[500]!;
    obj.free(victim);
    const header = usedpoolsHeader(obj, 0);
    expect(inspectState(obj).usedpools[0]).toBe(poolA);
    expect(inspectPool(obj, poolA)).toMatchObject({ count: 1020, freeblock: victim, nextpool: poolB, prevpool: header });
    expect(inspectPool(obj, poolB)).toMatchObject({ nextpool: header, prevpool: poolA });
    expect(inspectPool(obj, header)).toMatchObject({ nextpool: poolA, prevpool: poolB });
    // the freed block's first word is the old free list head: NULL
    expect(memory.u32[victim >>> 2]).toBe(0);
    expect(freeListOf(obj, poolA)).toEqual([victim]);
    expectOk(obj);
    // the next request is served from the head pool: A's freed block
    expect(obj.malloc(16)).toBe(victim);
    expect(inspectState(obj).usedpools[0]).toBe(poolB);
    expect(inspectPool(obj, poolA)).toMatchObject({ count: 1021, freeblock: 0 });
    expectOk(obj);
  });

  it("reuses freed blocks last in, first out, before carving new ones", () => {
    const { obj, memory } = makeHeap();
    const blocks: number[] = [];
    for (let i = 0; i < 8; i++) blocks.push(obj.malloc(32));
    const pool = poolOf(obj, blocks[0]!);
    const carvedNext = pool + 48 + 8 * 32;
    expect(freeListOf(obj, pool)).toEqual([carvedNext]);
    obj.free(blocks[2]!);
    obj.free(blocks[5]!);
    obj.free(blocks[0]!);
    expect(freeListOf(obj, pool)).toEqual([blocks[0], blocks[5], blocks[2], carvedNext]);
    // each freed block links to the previous head
    expect(memory.u32[blocks[0]! >>> 2]).toBe(blocks[5]);
    expect(memory.u32[blocks[5]! >>> 2]).toBe(blocks[2]);
    expect(memory.u32[blocks[2]! >>> 2]).toBe(carvedNext);
    expect(inspectPool(obj, pool)).toMatchObject({ count: 5, nextoffset: 48 + 9 * 32 });
    expectOk(obj);
    expect(obj.malloc(32)).toBe(blocks[0]);
    expect(obj.malloc(20)).toBe(blocks[5]);
    expect(obj.malloc(17)).toBe(blocks[2]);
    expect(obj.malloc(32)).toBe(carvedNext);
    expect(obj.malloc(32)).toBe(carvedNext + 32);
    expect(inspectPool(obj, pool)).toMatchObject({ count: 10, nextoffset: 48 + 11 * 32 });
    expectOk(obj);
  });

  it("a pool whose count drops to 0 goes to its arena's freepools and leaves usedpools", () => {
    const { obj } = makeHeap();
    const keep = obj.malloc(16); // pool 0 keeps one block
    const a = obj.malloc(64);
    const b = obj.malloc(64);
    const pool = poolOf(obj, a);
    expect(pool).toBe(poolOf(obj, keep) + POOL);
    obj.free(a);
    expect(arenaAt(obj, 0)).toMatchObject({ nfreepools: 62, freepools: 0 });
    obj.free(b);
    expect(inspectState(obj).usedpools[3]).toBe(0);
    expect(arenaAt(obj, 0)).toMatchObject({ nfreepools: 63, freepools: pool, poolAddress: pool + POOL });
    // the empty pool keeps its class, its free list and its offsets
    expect(inspectPool(obj, pool)).toMatchObject({ count: 0, szidx: 3, freeblock: b, nextpool: 0, nextoffset: 48 + 3 * 64 });
    expect(freeListOf(obj, pool)).toEqual([b, a, pool + 48 + 2 * 64]);
    expect(obj.stats().classes.map((c) => c.index)).toEqual([0]);
    expectOk(obj);
  });

  it("an empty pool reused for the same class keeps its free list", () => {
    const { obj } = makeHeap();
    obj.malloc(16); // keeps the arena busy
    const a = obj.malloc(64);
    const b = obj.malloc(64);
    const c = obj.malloc(64);
    const pool = poolOf(obj, a);
    obj.free(a);
    obj.free(b);
    obj.free(c);
    expect(arenaAt(obj, 0).freepools).toBe(pool);
    // szidx == size: the free list is taken as it is, head (c) first; nothing is carved
    expect(obj.malloc(60)).toBe(c);
    expect(inspectPool(obj, pool)).toMatchObject({ count: 1, szidx: 3, freeblock: b, nextoffset: 48 + 4 * 64 });
    expect(freeListOf(obj, pool)).toEqual([b, a, pool + 48 + 3 * 64]);
    expect(inspectState(obj).usedpools[3]).toBe(pool);
    expect(arenaAt(obj, 0)).toMatchObject({ nfreepools: 62, freepools: 0, poolAddress: pool + POOL });
    expect(obj.malloc(64)).toBe(b);
    expect(obj.malloc(64)).toBe(a);
    expect(obj.malloc(64)).toBe(pool + 48 + 3 * 64);
    expectOk(obj);
  });

  it("an empty pool reused for another class is re-initialised", () => {
    const { obj } = makeHeap();
    obj.malloc(16);
    const blocks = [obj.malloc(64), obj.malloc(64), obj.malloc(64)];
    const pool = poolOf(obj, blocks[0]!);
    for (const p of blocks) obj.free(p);
    // a 48-byte request takes the empty pool (freepools before never-carved pools)
    const p = obj.malloc(48);
    expect(p).toBe(pool + 48);
    expect(inspectPool(obj, pool)).toMatchObject({
      count: 1,
      szidx: 2,
      freeblock: pool + 48 + 48,
      nextoffset: 48 + 2 * 48,
      maxnextoffset: POOL - 48,
      arenaindex: 0,
    });
    expect(freeListOf(obj, pool)).toEqual([pool + 96]);
    expect(inspectState(obj).usedpools[2]).toBe(pool);
    expect(inspectState(obj).usedpools[3]).toBe(0);
    expect(arenaAt(obj, 0)).toMatchObject({ nfreepools: 62, freepools: 0, poolAddress: pool + POOL });
    expect(obj.malloc(48)).toBe(pool + 96);
    expect(obj.malloc(48)).toBe(pool + 144);
    expectOk(obj);
  });

  it("empty pools are reused last in, first out, before never-carved ones", () => {
    const { obj } = makeHeap();
    obj.malloc(16); // pool 0
    const a = obj.malloc(32); // pool 1
    const b = obj.malloc(48); // pool 2
    const c = obj.malloc(64); // pool 3
    const [poolA, poolB, poolC] = [poolOf(obj, a), poolOf(obj, b), poolOf(obj, c)];
    expect([poolA, poolB, poolC]).toEqual([poolOf(obj, a), poolA + POOL, poolA + 2 * POOL]);
    obj.free(a);
    obj.free(c);
    obj.free(b);
    const arena = arenaAt(obj, 0);
    expect(arena).toMatchObject({ nfreepools: 63, freepools: poolB, poolAddress: poolC + POOL });
    expect(inspectPool(obj, poolB).nextpool).toBe(poolC);
    expect(inspectPool(obj, poolC).nextpool).toBe(poolA);
    expect(inspectPool(obj, poolA).nextpool).toBe(0);
    expectOk(obj);
    // a fourth class takes B, then C, then A, then a fresh pool
    expect(poolOf(obj, obj.malloc(80))).toBe(poolB);
    expect(poolOf(obj, obj.malloc(96))).toBe(poolC);
    expect(poolOf(obj, obj.malloc(112))).toBe(poolA);
    expect(poolOf(obj, obj.malloc(128))).toBe(poolC + POOL);
    expect(poolInfo(obj, poolB + 48)).toMatchObject({ szidx: 4, nextoffset: 48 + 2 * 80 });
    expect(poolInfo(obj, poolC + 48)).toMatchObject({ szidx: 5, nextoffset: 48 + 2 * 96 });
    expect(poolInfo(obj, poolA + 48)).toMatchObject({ szidx: 6, nextoffset: 48 + 2 * 112 });
    expect(arenaAt(obj, 0)).toMatchObject({ nfreepools: 59, freepools: 0 });
    expectOk(obj);
  });

  it("a freed pool keeps its place in the arena when the class list still has other pools", () => {
    const { obj } = makeHeap();
    const first: number[] = [];
    for (let i = 0; i < 31; i++) first.push(obj.malloc(512));
    const second = obj.malloc(512);
    const poolA = poolOf(obj, first[0]!);
    const poolB = poolOf(obj, second);
    // empty pool A completely: first free sends it to the front of usedpools, the last to freepools
    for (const p of first) obj.free(p);
    expect(inspectState(obj).usedpools[31]).toBe(poolB);
    expect(arenaAt(obj, 0)).toMatchObject({ freepools: poolA, nfreepools: 63 });
    expect(inspectPool(obj, poolA)).toMatchObject({ count: 0, freeblock: first[30] });
    expectOk(obj);
    // usedpools[31] still has B, so a 512-byte request comes from B, not from the empty A
    expect(poolOf(obj, obj.malloc(512))).toBe(poolB);
    expectOk(obj);
  });
});
