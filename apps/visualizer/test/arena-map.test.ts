/*
 * The arena map's rows (src/arena-map.ts) over a heap driven into a known shape (see
 * arena-scenario.ts): full arenas by slot, then usable_arenas in list order (fewest free pools
 * first), then the slots whose arena was given back, read from the heap alone (the same rows
 * whether the map was looked at after every step or only at the end); CPython keeping one wholly
 * free arena when it is the last usable one (bpo-37257); the words under the map; pool states,
 * fullness, carving and addresses against a tally of the live blocks made here.
 */
import { type ArenaObjectInfo, inspectArenas, inspectPool, inspectState, type PymallocHeapView } from "@tsmalloc/pymalloc";
import { createRuntime } from "@tsmalloc/registry";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type ArenaRow,
  arenaRows,
  describeRows,
  isCarved,
  isReleased,
  POOL_STATE_NAMES,
  poolAddress,
  poolFullness,
  PoolState,
  poolState,
} from "../src/arena-map.ts";
import { ARENA, ARENA6_FULL_POOLS, ARENA6_LAST_POOL_BLOCKS, PER_POOL, POOL, POOLS, type Scenario, scenario } from "./arena-scenario.ts";

/** Rows as [section, slot, position] triples. */
function shape(rows: readonly ArenaRow[]): Array<[string, number, number]> {
  return rows.map((row) => [row.section, row.arena.index, row.position]);
}

/** What the rows should be, from the live blocks: full (no pool free) by slot, usable by free pools, then released. */
function expectedShape(s: Scenario, held: readonly number[], released: readonly number[]): Array<[string, number, number]> {
  const free = held.map((index) => ({ index, free: POOLS - s.usedPools(index) }));
  const full = free.filter((a) => a.free === 0).map((a) => a.index);
  const usable = free.filter((a) => a.free > 0).sort((a, b) => a.free - b.free);
  // distinct counts: the order is the sort's, whatever CPython does with ties
  expect(new Set(usable.map((a) => a.free)).size).toBe(usable.length);
  return [
    ...full.sort((a, b) => a - b).map((index): [string, number, number] => ["full", index, -1]),
    ...usable.map((a, position): [string, number, number] => ["usable", a.index, position]),
    ...released.map((index): [string, number, number] => ["released", index, -1]),
  ];
}

describe("arenaRows over full, usable and released arenas", () => {
  let s: Scenario;
  let heap: PymallocHeapView;
  let atStart: ArenaRow[];
  let afterKept: ArenaRow[];
  let afterRelease: ArenaRow[];
  let end: ArenaRow[];
  let endArenas: ArenaObjectInfo[];
  /** expectedShape() at each of the four moments, worked out as the heap stood then. */
  const expected: Array<Array<[string, number, number]>> = [];
  beforeAll(() => {
    s = scenario();
    heap = s.runtime.pymallocHeap!;
    atStart = arenaRows(heap);
    expected.push(expectedShape(s, [0, 1, 2, 3, 4, 5, 6], []));
    s.step(2);
    afterKept = arenaRows(heap);
    expected.push(expectedShape(s, [0, 1, 2, 3, 4, 5, 6], []));
    s.step(3);
    afterRelease = arenaRows(heap);
    expected.push(expectedShape(s, [0, 1, 2, 3, 4, 6], [5]));
    s.step(4);
    s.step(5);
    end = arenaRows(heap);
    expected.push(expectedShape(s, [0, 1, 2, 3, 4, 6], [5]));
    endArenas = inspectArenas(heap);
  });

  it("at the start: six full arenas and the one being filled", () => {
    expect(shape(atStart)).toEqual(expected[0]);
    expect(shape(atStart)).toEqual([
      ["full", 0, -1],
      ["full", 1, -1],
      ["full", 2, -1],
      ["full", 3, -1],
      ["full", 4, -1],
      ["full", 5, -1],
      ["usable", 6, 0],
    ]);
    expect(atStart.at(-1)!.arena.nfreepools).toBe(POOLS - ARENA6_FULL_POOLS - 1);
    expect(describeRows(atStart)).toBe("7 arenas: 6 full (#0 #1 #2 #3 #4 #5), 1 on usable_arenas (#6), 0 released");
  });

  it("a wholly free arena that is the last usable one is kept (bpo-37257)", () => {
    expect(shape(afterKept)).toEqual(expected[1]);
    const four = afterKept.find((row) => row.arena.index === 4)!;
    expect(four.section).toBe("usable");
    expect(four.arena.address).not.toBe(0);
    expect(four.arena.nfreepools).toBe(four.arena.ntotalpools);
    expect(four.arena.nextarena).toBe(0); // the last of usable_arenas
    expect(four.position).toBe(1);
  });

  it("a second wholly free arena is given back, and shown as released", () => {
    expect(shape(afterRelease)).toEqual(expected[2]);
    const five = afterRelease.find((row) => row.arena.index === 5)!;
    expect(five.arena.address).toBe(0);
    expect(inspectState(heap).narenasCurrentlyAllocated).toBe(6);
    expect(describeRows(afterRelease)).toBe("6 arenas: 4 full (#0 #1 #2 #3), 2 on usable_arenas (#6 #4), 1 released (#5)");
  });

  it("at the end: full by slot, usable by free pools with the head first, released last", () => {
    expect(shape(end)).toEqual(expected[3]);
    expect(shape(end)).toEqual([
      ["full", 0, -1],
      ["full", 1, -1],
      ["full", 2, -1],
      ["usable", 3, 0],
      ["usable", 6, 1],
      ["usable", 4, 2],
      ["released", 5, -1],
    ]);
    expect(end.filter((row) => row.section === "usable").map((row) => row.arena.nfreepools)).toEqual([2, POOLS - ARENA6_FULL_POOLS - 1, POOLS]);
    expect(describeRows(end)).toBe("6 arenas: 3 full (#0 #1 #2), 3 on usable_arenas (#3 #6 #4), 1 released (#5)");
    // the rows carry the slots as inspectArenas decodes them
    for (const row of end) expect(row.arena).toEqual(endArenas[row.arena.index]);
  });

  it("the same rows when the map is looked at only at the end: nothing depends on when it was drawn (issue 16)", () => {
    const unseen = scenario();
    for (const step of [2, 3, 4, 5] as const) unseen.step(step);
    const rows = arenaRows(unseen.runtime.pymallocHeap!);
    expect(shape(rows)).toEqual(shape(end));
    expect(describeRows(rows)).toBe(describeRows(end));
  });

  it("a released slot keeps ntotalpools; a slot never used is all zero and never a row", () => {
    const five = endArenas[5]!;
    expect(isReleased(five)).toBe(true);
    expect(five).toMatchObject({ address: 0, ntotalpools: POOLS });
    expect(five.poolAddress).not.toBe(0);
    expect(inspectState(heap).maxarenas).toBeGreaterThan(7);
    for (const never of endArenas.slice(7)) {
      expect(isReleased(never)).toBe(false);
      expect(never).toMatchObject({ address: 0, poolAddress: 0, nfreepools: 0, ntotalpools: 0, freepools: 0, prevarena: 0 });
    }
    expect(end.some((row) => row.arena.index > 6)).toBe(false);
    expect(endArenas.slice(0, 7).map(isReleased)).toEqual([false, false, false, false, false, true, false]);
  });

  it("a released slot that holds an arena again is a row of its section, not released", () => {
    const again = scenario();
    for (const step of [2, 3] as const) again.step(step);
    const reheap = again.runtime.pymallocHeap!;
    expect(shape(arenaRows(reheap)).at(-1)).toEqual(["released", 5, -1]);
    // fill #6, then #4 (usable, kept when it was emptied): the next arena takes slot 5 again,
    // the head of unused_arena_objects
    const left = (POOLS - ARENA6_FULL_POOLS) * PER_POOL - ARENA6_LAST_POOL_BLOCKS + POOLS * PER_POOL;
    for (let i = 0; i < left; i++) again.runtime.memMalloc(64);
    expect(inspectState(reheap).narenasCurrentlyAllocated).toBe(6);
    again.runtime.memMalloc(64);
    const rows = arenaRows(reheap);
    expect(rows.some((row) => row.section === "released")).toBe(false);
    expect(rows.find((row) => row.arena.index === 5)?.section).toBe("usable");
    expect(describeRows(rows)).toBe("7 arenas: 6 full (#0 #1 #2 #3 #4 #6), 1 on usable_arenas (#5), 0 released");
  });

  it("pool states, fullness, carving and addresses agree with the live blocks", () => {
    const layout = heap.layout;
    let checked = 0;
    const seen = new Set<number>();
    for (const row of end) {
      const arena = row.arena;
      if (arena.address === 0) {
        expect(isCarved(arena, s.arenaBase[arena.index]!)).toBe(false);
        continue;
      }
      expect(arena.address).toBe(s.arenaBase[arena.index]);
      for (let column = 0; column < arena.ntotalpools; column++) {
        const pool = poolAddress(heap, arena, column);
        expect(pool).toBe(s.arenaBase[arena.index]! + column * POOL);
        const carved = isCarved(arena, pool);
        // #6 has carved its first 21 pools; every other arena all 64
        const expectCarved = arena.index !== 6 || column <= ARENA6_FULL_POOLS;
        expect(carved, `#${arena.index} pool ${column}`).toBe(expectCarved);
        if (!carved) continue;
        const header = inspectPool(heap, pool);
        const live = s.liveIn(pool);
        expect(header.count, `#${arena.index} pool ${column}`).toBe(live);
        const want = live === 0 ? PoolState.Empty : live === PER_POOL ? PoolState.Full : PoolState.Used;
        expect(poolState(heap, header), `#${arena.index} pool ${column}`).toBe(want);
        expect(poolFullness(heap, header)).toBe(live / PER_POOL);
        seen.add(want);
        checked++;
      }
    }
    expect(seen).toEqual(new Set([PoolState.Empty, PoolState.Used, PoolState.Full]));
    expect(checked).toBe(5 * POOLS + ARENA6_FULL_POOLS + 1);
    expect(s.liveIn(s.arenaBase[6]! + ARENA6_FULL_POOLS * POOL)).toBe(ARENA6_LAST_POOL_BLOCKS);
    expect(layout.arenaSize).toBe(ARENA);
  });

  it("a pool beyond the last carved one of an arena is not carved; one of a released slot never is", () => {
    const six = endArenas[6]!;
    expect(six.poolAddress).toBe(s.arenaBase[6]! + (ARENA6_FULL_POOLS + 1) * POOL);
    expect(isCarved(six, six.poolAddress - POOL)).toBe(true);
    expect(isCarved(six, six.poolAddress)).toBe(false);
    const five = endArenas[5]!;
    expect(isCarved(five, five.poolAddress - POOL)).toBe(false);
  });

  it("(runs last: step 6) an arena with a single free pool joins usable_arenas at its head", () => {
    s.step(6);
    const rows = arenaRows(heap);
    expect(shape(rows)).toEqual(expectedShape(s, [0, 1, 2, 3, 4, 6], [5]));
    expect(shape(rows).slice(0, 3)).toEqual([
      ["full", 0, -1],
      ["full", 2, -1],
      ["usable", 1, 0],
    ]);
    expect(rows[2]!.arena.nfreepools).toBe(1);
    expect(describeRows(rows)).toBe("6 arenas: 2 full (#0 #2), 4 on usable_arenas (#1 #3 #6 #4), 1 released (#5)");
  });
});

describe("poolState and poolFullness at the edges of a pool's capacity", () => {
  it("empty at 0, used below capacity, full at capacity (and beyond, for a damaged header)", () => {
    const runtime = createRuntime({ allocator: "pymalloc" });
    runtime.memMalloc(16);
    const heap = runtime.pymallocHeap!;
    const pool = inspectState(heap).usedpools[0]!;
    const header = inspectPool(heap, pool);
    const capacity = Math.floor((POOL - 48) / 16);
    expect(capacity).toBe(1021);
    const at = (count: number) => ({ ...header, count });
    expect([0, 1, capacity - 1, capacity, capacity + 5].map((n) => poolState(heap, at(n)))).toEqual([
      PoolState.Empty,
      PoolState.Used,
      PoolState.Used,
      PoolState.Full,
      PoolState.Full,
    ]);
    expect([0, 1, capacity - 1, capacity, capacity + 5].map((n) => poolFullness(heap, at(n)))).toEqual([0, 1 / 1021, 1020 / 1021, 1, 1]);
    // szidx decides the capacity: class 31 (512-byte blocks) holds 31
    expect(poolState(heap, { ...header, szidx: 31, count: 31 })).toBe(PoolState.Full);
    expect(poolState(heap, { ...header, szidx: 31, count: 30 })).toBe(PoolState.Used);
  });

  it("names the states", () => {
    expect(POOL_STATE_NAMES).toEqual(["never carved", "empty", "used", "full"]);
    expect([PoolState.Uncarved, PoolState.Empty, PoolState.Used, PoolState.Full]).toEqual([0, 1, 2, 3]);
  });
});

describe("describeRows", () => {
  const slot = (index: number, address: number): ArenaObjectInfo => ({
    index,
    object: 0x1000 + index * 32,
    address,
    poolAddress: 0,
    nfreepools: 0,
    ntotalpools: 64,
    freepools: 0,
    nextarena: 0,
    prevarena: 0,
  });

  it("counts one arena without a plural, and empty sections without a list", () => {
    expect(describeRows([])).toBe("0 arenas: 0 full, 0 on usable_arenas, 0 released");
    expect(describeRows([{ section: "usable", arena: slot(0, 0x100000), position: 0 }])).toBe("1 arena: 0 full, 1 on usable_arenas (#0), 0 released");
    expect(
      describeRows([
        { section: "full", arena: slot(2, 0x300000), position: -1 },
        { section: "released", arena: slot(0, 0), position: -1 },
        { section: "released", arena: slot(1, 0), position: -1 },
      ]),
    ).toBe("1 arena: 1 full (#2), 0 on usable_arenas, 2 released (#0 #1)");
  });

  it("an empty heap has no rows", () => {
    const runtime = createRuntime({ allocator: "pymalloc" });
    expect(arenaRows(runtime.pymallocHeap!)).toEqual([]);
  });
});
