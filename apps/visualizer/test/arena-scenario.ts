/*
 * A pymalloc heap in a known shape, made through a runtime's MEM domain (allocator "pymalloc",
 * so no debug hooks and no other block in pymalloc), for the arena-map and details tests.
 * 64-byte blocks only (size class 3); the default layout: 1 MiB arenas of 64 pools of 16 KiB.
 *
 *   1. malloc(64) until arenas #0..#5 are full and #6 has 20 full pools and a 21st with 100 blocks
 *   2. free every block of #4: its pools empty one by one; once wholly free it is the last on
 *      usable_arenas, and CPython keeps it (bpo-37257)
 *   3. free every block of #5: wholly free but not the last (#4 follows it): given back
 *   4. free every block of 2 pools of #3: usable with 2 free pools, the head of usable_arenas
 *   5. free 3 blocks of pool 5 of #2 (in the order FREED_IN_FULL_ARENA): a used pool in an arena
 *      that stays full
 *   6. free every block of pool 9 of #1: one free pool, the fewest: the new head of usable_arenas
 *
 * What every step should leave is worked out here from the blocks alone (which pool holds which
 * live block), not read from pymalloc.
 */
import { createRuntime, type Runtime } from "@tsmalloc/registry";
import { expect } from "vitest";

export const BLOCK = 64;
export const SZIDX = 3;
/** Blocks of 64 bytes in a 16 KiB pool with a 48-byte header. */
export const PER_POOL = Math.floor((16384 - 48) / BLOCK);
export const POOLS = 64;
export const ARENA = 1 << 20;
export const POOL = 16 << 10;
export const OVERHEAD = 48;
/** Pools of #6 filled, and the blocks in the next one. */
export const ARENA6_FULL_POOLS = 20;
export const ARENA6_LAST_POOL_BLOCKS = 100;
/** Block indexes (within pool 5 of arena #2) freed in step 5, in this order. */
export const FREED_IN_FULL_ARENA = [3, 7, 100] as const;

export interface Scenario {
  readonly runtime: Runtime;
  /** Live blocks by address. */
  readonly live: Set<number>;
  /** The first pool of each arena index, as allocated (arena i is the i-th arena made). */
  readonly arenaBase: number[];
  /** Runs the next step (1..6); step 1 is run by scenario(). */
  step(n: 2 | 3 | 4 | 5 | 6): void;
  /** Live blocks in the pool at `pool`. */
  liveIn(pool: number): number;
  /** Pools of arena `index` that hold a live block. */
  usedPools(index: number): number;
}

export function scenario(): Scenario {
  const runtime = createRuntime({ allocator: "pymalloc" });
  expect(runtime.pymallocHeap?.layout).toMatchObject({ poolSize: POOL, arenaSize: ARENA, alignment: 16, poolOverhead: OVERHEAD });
  const live = new Set<number>();
  const total = PER_POOL * POOLS * 6 + PER_POOL * ARENA6_FULL_POOLS + ARENA6_LAST_POOL_BLOCKS;
  const order: number[] = [];
  for (let i = 0; i < total; i++) {
    const p = runtime.memMalloc(BLOCK);
    live.add(p);
    order.push(p);
  }
  expect(live.has(0)).toBe(false);
  expect(live.size).toBe(total);
  // arenas are made in order, each holding the next PER_POOL * POOLS blocks, pool by pool
  const arenaBase: number[] = [];
  for (let a = 0; a < 7; a++) arenaBase.push(order[a * PER_POOL * POOLS]! - OVERHEAD);
  for (const base of arenaBase) expect(base % POOL, "arenas start on a pool boundary").toBe(0);
  let misplaced = 0;
  order.forEach((p, i) => {
    const arena = Math.floor(i / (PER_POOL * POOLS));
    const pool = Math.floor((i % (PER_POOL * POOLS)) / PER_POOL);
    if (p !== arenaBase[arena]! + pool * POOL + OVERHEAD + (i % PER_POOL) * BLOCK) misplaced++;
  });
  expect(misplaced, "blocks handed out in address order, pool by pool, arena by arena").toBe(0);
  const free = (p: number): void => {
    if (!live.delete(p)) throw new Error(`0x${p.toString(16)} is not a live block`);
    runtime.memFree(p);
  };
  const blockAt = (arena: number, pool: number, block: number): number => arenaBase[arena]! + pool * POOL + OVERHEAD + block * BLOCK;
  const freePools = (arena: number, pools: number): void => {
    for (let pool = 0; pool < pools; pool++) for (let block = 0; block < PER_POOL; block++) free(blockAt(arena, pool, block));
  };
  return {
    runtime,
    live,
    arenaBase,
    step(n) {
      if (n === 2) freePools(4, POOLS);
      else if (n === 3) freePools(5, POOLS);
      else if (n === 4) freePools(3, 2);
      else if (n === 5) for (const block of FREED_IN_FULL_ARENA) free(blockAt(2, 5, block));
      else for (let block = 0; block < PER_POOL; block++) free(blockAt(1, 9, block));
    },
    liveIn(pool) {
      let n = 0;
      for (let block = 0; block < PER_POOL; block++) if (live.has(pool + OVERHEAD + block * BLOCK)) n++;
      return n;
    },
    usedPools(index) {
      let n = 0;
      for (let pool = 0; pool < POOLS; pool++) if (this.liveIn(arenaBase[index]! + pool * POOL) > 0) n++;
      return n;
    },
  };
}
