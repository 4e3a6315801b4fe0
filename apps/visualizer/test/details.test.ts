/*
 * The side panel's tables (src/details.ts) over the heap of arena-scenario.ts: a pool's header
 * fields as inspectPool decodes them, its free list as freeListOf walks it and as the frees made
 * here predict it (pymalloc pushes a freed block on the head), the never-carved blocks past
 * nextoffset, the list the title names; an arena object's fields and where it stands (the head
 * of usable_arenas, further on it, full, released).
 */
import { freeListOf, inspectArenas, inspectPool, inspectState, type PymallocHeapView, usedpoolsHeader } from "@tsmalloc/pymalloc";
import { beforeAll, describe, expect, it } from "vitest";
import { arenaDetails, type DetailRow, poolDetails } from "../src/details.ts";
import { ARENA6_FULL_POOLS, ARENA6_LAST_POOL_BLOCKS, BLOCK, FREED_IN_FULL_ARENA, OVERHEAD, PER_POOL, POOL, type Scenario, scenario, SZIDX } from "./arena-scenario.ts";

const hex = (n: number): string => `0x${n.toString(16)}`;
/** An integer with a comma every three digits, worked out by hand. */
const thousands = (n: number): string => String(n).replace(/\B(?=(\d{3})+$)/g, ",");

/** The rows as a field -> [value, note] record. */
function table(rows: readonly DetailRow[]): Record<string, [string, string]> {
  return Object.fromEntries(rows.map((row) => [row.field, [row.value, row.note]]));
}

let s: Scenario;
let heap: PymallocHeapView;
beforeAll(() => {
  s = scenario();
  for (const n of [2, 3, 4, 5] as const) s.step(n);
  heap = s.runtime.pymallocHeap!;
});

describe("poolDetails", () => {
  it("a pool being carved: one block ahead on the free list, the rest never carved", () => {
    const pool = s.arenaBase[6]! + ARENA6_FULL_POOLS * POOL;
    const details = poolDetails(heap, pool);
    const header = inspectPool(heap, pool);
    const k = ARENA6_LAST_POOL_BLOCKS;
    // after k blocks handed out in order, block k waits on the free list and nextoffset is block k + 1
    expect(details.freeList).toEqual([pool + OVERHEAD + k * BLOCK]);
    expect(details.freeList).toEqual(freeListOf(heap, pool));
    expect(header.nextoffset).toBe(OVERHEAD + (k + 1) * BLOCK);
    expect(details.uncarvedBlocks).toBe(PER_POOL - k - 1);
    expect(details.title).toBe(`pool ${hex(pool)}: used, on usedpools[${SZIDX}]`);
    // usedpools[3] is not empty; a link to its (virtual) header ends the list
    expect(inspectState(heap).usedpools[SZIDX]).not.toBe(0);
    const listHead = usedpoolsHeader(heap, SZIDX);
    expect(header.nextpool === listHead || header.prevpool === listHead).toBe(true);
    expect(table(details.rows)).toEqual({
      "ref.count": [String(k), `blocks in use, of ${PER_POOL}`],
      freeblock: [hex(header.freeblock), "head of the free list"],
      nextpool: [hex(header.nextpool), header.nextpool === listHead ? `usedpools[${SZIDX}] itself: the last pool of its class` : "next pool of the same class"],
      prevpool: [hex(header.prevpool), header.prevpool === listHead ? `usedpools[${SZIDX}] itself: the first pool of its class` : "previous pool of the same class"],
      arenaindex: ["6", "slot in the arenas vector"],
      szidx: [String(SZIDX), "64-byte blocks"],
      nextoffset: [thousands(OVERHEAD + (k + 1) * BLOCK), `the next never-used block: ${hex(pool + OVERHEAD + (k + 1) * BLOCK)}`],
      maxnextoffset: [thousands(POOL - BLOCK), "the last block's offset"],
    });
    expect(details.rows.map((row) => row.field)).toEqual(["ref.count", "freeblock", "nextpool", "prevpool", "arenaindex", "szidx", "nextoffset", "maxnextoffset"]);
    expect(header.freeblock).toBe(details.freeList[0]);
    expect(header.count).toBe(s.liveIn(pool));
  });

  it("a used pool of a full arena: the freed blocks, last freed first; every block carved", () => {
    const pool = s.arenaBase[2]! + 5 * POOL;
    const details = poolDetails(heap, pool);
    const header = inspectPool(heap, pool);
    expect(details.freeList).toEqual([...FREED_IN_FULL_ARENA].reverse().map((b) => pool + OVERHEAD + b * BLOCK));
    expect(details.freeList).toEqual(freeListOf(heap, pool));
    expect(details.uncarvedBlocks).toBe(0);
    expect(header.count + details.freeList.length + details.uncarvedBlocks).toBe(PER_POOL);
    expect(details.title).toBe(`pool ${hex(pool)}: used, on usedpools[${SZIDX}]`);
    const rows = table(details.rows);
    expect(rows["ref.count"]).toEqual([String(PER_POOL - 3), `blocks in use, of ${PER_POOL}`]);
    expect(rows.nextoffset).toEqual([thousands(header.nextoffset), "every block has been carved"]);
    expect(header.nextoffset).toBeGreaterThan(header.maxnextoffset);
    expect(rows.arenaindex![0]).toBe("2");
  });

  it("a full pool: on no list, nothing free, nothing to carve", () => {
    const pool = s.arenaBase[0]!;
    const details = poolDetails(heap, pool);
    const header = inspectPool(heap, pool);
    expect(header.count).toBe(PER_POOL);
    expect(details.title).toBe(`pool ${hex(pool)}: full, on no list (full pools are on none)`);
    expect(details.freeList).toEqual([]);
    expect(details.uncarvedBlocks).toBe(0);
    const rows = table(details.rows);
    expect(rows["ref.count"]).toEqual(["255", "blocks in use, of 255"]);
    expect(rows.freeblock).toEqual(["0x0", "free list empty"]);
    expect(rows.nextpool).toEqual([hex(header.nextpool), "stale"]);
    expect(rows.prevpool).toEqual([hex(header.prevpool), "stale"]);
    expect(rows.arenaindex).toEqual(["0", "slot in the arenas vector"]);
    expect(rows.szidx).toEqual(["3", "64-byte blocks"]);
  });

  it("an empty pool: on its arena's freepools, no free list shown, the class stale", () => {
    const pool = s.arenaBase[3]! + POOL; // the second of the two pools emptied in #3
    const details = poolDetails(heap, pool);
    const header = inspectPool(heap, pool);
    expect(header.count).toBe(0);
    expect(details.title).toBe(`pool ${hex(pool)}: empty, on its arena's freepools`);
    expect(details.freeList).toEqual([]);
    expect(details.uncarvedBlocks).toBe(0);
    const rows = table(details.rows);
    expect(rows["ref.count"]).toEqual(["0", "blocks in use, of 255"]);
    expect(rows.nextpool).toEqual([hex(header.nextpool), "next empty pool of the arena"]);
    // the pool emptied last heads the arena's freepools and links to the one emptied before it
    const three = inspectArenas(heap)[3]!;
    expect(three.freepools).toBe(pool);
    expect(header.nextpool).toBe(s.arenaBase[3]);
    expect(rows.prevpool).toEqual([hex(header.prevpool), "stale"]);
    expect(rows.szidx).toEqual(["3", "64-byte blocks (stale: the pool is empty)"]);
  });

  it("thousands separators in the counts", () => {
    // nextoffset of the pool being carved is over 1,000
    const pool = s.arenaBase[6]! + ARENA6_FULL_POOLS * POOL;
    const rows = table(poolDetails(heap, pool).rows);
    expect(rows.nextoffset![0]).toBe(thousands(OVERHEAD + (ARENA6_LAST_POOL_BLOCKS + 1) * BLOCK));
    expect(rows.nextoffset![0]).toBe("6,512");
    expect(rows.maxnextoffset![0]).toBe("16,320");
  });
});

describe("arenaDetails", () => {
  const objectOf = (index: number): number => inspectArenas(heap)[index]!.object;

  it("the head of usable_arenas", () => {
    const object = objectOf(3);
    const arena = inspectArenas(heap)[3]!;
    const details = arenaDetails(heap, object);
    expect(details.title).toBe(`arena object #3 at ${hex(object)}: usable_arenas[0] (the head: new pools come from here)`);
    expect(inspectState(heap).usableArenas).toBe(object);
    expect(table(details.rows)).toEqual({
      address: [hex(s.arenaBase[3]!), "1,048,576 bytes"],
      pool_address: [hex(arena.poolAddress), "the next pool to carve"],
      nfreepools: ["2", "empty or never-carved pools"],
      ntotalpools: ["64", "pools the arena can hold"],
      freepools: [hex(s.arenaBase[3]! + POOL), "head of its empty pools"],
      nextarena: [hex(objectOf(6)), "next on usable_arenas"],
      prevarena: ["0x0", "previous on usable_arenas"],
      nfp2lasta: ["this arena", "nfp2lasta[2]: the last usable arena with this many free pools"],
    });
  });

  it("further on usable_arenas: the kept wholly free arena is the last", () => {
    const six = arenaDetails(heap, objectOf(6));
    expect(six.title).toBe(`arena object #6 at ${hex(objectOf(6))}: usable_arenas[1]`);
    const four = arenaDetails(heap, objectOf(4));
    expect(four.title).toBe(`arena object #4 at ${hex(objectOf(4))}: usable_arenas[2]`);
    const rows = table(four.rows);
    expect(rows.nfreepools![0]).toBe("64");
    expect(rows.nextarena![0]).toBe("0x0");
    expect(rows.prevarena![0]).toBe(hex(objectOf(6)));
    expect(rows.nfp2lasta).toEqual(["this arena", "nfp2lasta[64]: the last usable arena with this many free pools"]);
    expect(table(six.rows).nfreepools![0]).toBe(String(64 - ARENA6_FULL_POOLS - 1));
  });

  it("a full arena is off the list and no finger points at it", () => {
    const details = arenaDetails(heap, objectOf(1));
    expect(details.title).toBe(`arena object #1 at ${hex(objectOf(1))}: full: off usable_arenas`);
    const rows = table(details.rows);
    expect(rows.nfreepools![0]).toBe("0");
    expect(rows.freepools).toEqual(["0x0", "no empty pool"]);
    expect(rows.nfp2lasta).toEqual(["–", "nfp2lasta[0]: the last usable arena with this many free pools"]);
    expect(rows.address).toEqual([hex(s.arenaBase[1]!), "1,048,576 bytes"]);
  });

  it("a released arena: no address, on unused_arena_objects", () => {
    const object = objectOf(5);
    const details = arenaDetails(heap, object);
    expect(details.title).toBe(`arena object #5 at ${hex(object)}: released: on unused_arena_objects`);
    expect(inspectState(heap).unusedArenaObjects).toBe(object);
    const rows = table(details.rows);
    expect(rows.address).toEqual(["0x0", "no arena (given back)"]);
    expect(rows.pool_address![1]).toBe("");
    expect(rows.nextarena![1]).toBe("next unused arena object");
    expect(rows.nfp2lasta![0]).toBe("–");
  });
});
