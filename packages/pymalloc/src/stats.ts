import type { AllocatorStats } from "@tsmalloc/memory";
import { carvedPools, inspectArenas, inspectPool, inspectState, type PymallocHeapView } from "./inspect.ts";
import { blocksPerPool, classSize } from "./layout.ts";
import { ARENA_OBJECT_SIZE, STATE_INBOX_WORD, stateBytes } from "./structs.ts";

/** One row of the class table: a size class with at least one pool in use. */
export interface SizeClassStats {
  /** The size class index (`szidx`). */
  readonly index: number;
  /** Its block size (`INDEX2SIZE`). */
  readonly size: number;
  /** Pools of this class in use (used or full). */
  readonly pools: number;
  /** Allocated blocks in those pools. */
  readonly blocksInUse: number;
  /** Free blocks in those pools, carved or not. */
  readonly availableBlocks: number;
}

/**
 * The numbers of `sys._debugmallocstats()` for pymalloc. The byte figures add up:
 * `bytesInAllocatedBlocks + bytesInAvailableBlocks + unusedPools * poolSize + bytesLostToPoolHeaders
 * + bytesLostToQuantization + bytesLostToArenaAlignment = total = arenasAllocatedCurrent * arenaSize`.
 */
export interface PymallocStats {
  readonly smallRequestThreshold: number;
  readonly numClasses: number;
  readonly poolSize: number;
  readonly arenaSize: number;
  /** Size classes with pools in use, in index order. */
  readonly classes: readonly SizeClassStats[];
  /** Arenas ever allocated (`ntimes_arena_allocated`). */
  readonly arenasAllocatedTotal: number;
  /** Arenas given back (`ntimes_arena_allocated - narenas`). */
  readonly arenasReclaimed: number;
  /** The most arenas held at once. */
  readonly arenasHighwaterMark: number;
  /** Arenas held now. */
  readonly arenasAllocatedCurrent: number;
  readonly bytesInAllocatedBlocks: number;
  readonly bytesInAvailableBlocks: number;
  /** Empty and never-carved pools over all arenas (`nfreepools` summed). */
  readonly unusedPools: number;
  readonly bytesLostToPoolHeaders: number;
  readonly bytesLostToQuantization: number;
  /** One pool for each arena that does not start on a pool boundary. */
  readonly bytesLostToArenaAlignment: number;
  /** The sum of the byte lines: always arenas × arena size. */
  readonly total: number;
  /** Bytes of the arena map (the flat `address_in_range` table). */
  readonly bytesLostToArenaMapRoot: number;
  /** Raw blocks handed out by pymalloc (`raw_allocated_blocks`). */
  readonly rawAllocatedBlocks: number;
  /** Bytes of pymalloc's own tables taken from the raw allocator: state block, arena map, arenas vector. */
  readonly metadataBytes: number;
  /**
   * Blocks other threads freed into this heap that wait on its remote-free list (free-threading;
   * 0 for any other heap). Until the heap drains the list they count as blocks in use.
   */
  readonly remoteFreesPending: number;
}

/**
 * Walks every arena and pool and gathers {@link PymallocStats}. Of the {@link AllocatorStats},
 * `allocatedBlocks` counts pool blocks and raw blocks (like `sys.getallocatedblocks()`), while
 * `allocatedBytes` and `mappedBytes` cover the pools and arenas only: raw blocks are the raw
 * allocator's to account for.
 */
export function collectStats(heap: PymallocHeapView): PymallocStats & AllocatorStats {
  const { layout } = heap;
  const state = inspectState(heap);
  const pools = Array.from({ length: layout.numClasses }, () => 0);
  const used = Array.from({ length: layout.numClasses }, () => 0);
  const free = Array.from({ length: layout.numClasses }, () => 0);
  let narenas = 0;
  let unusedPools = 0;
  let alignmentLoss = 0;
  for (const arena of inspectArenas(heap)) {
    if (arena.address === 0) continue;
    narenas++;
    unusedPools += arena.nfreepools;
    if ((arena.address & (layout.poolSize - 1)) !== 0) alignmentLoss += layout.poolSize;
    for (const address of carvedPools(heap, arena)) {
      const pool = inspectPool(heap, address);
      if (pool.count === 0 || pool.szidx >= layout.numClasses) continue;
      pools[pool.szidx]!++;
      used[pool.szidx]! += pool.count;
      free[pool.szidx]! += blocksPerPool(layout, pool.szidx) - pool.count;
    }
  }
  const classes: SizeClassStats[] = [];
  let allocatedBytes = 0;
  let availableBytes = 0;
  let headerBytes = 0;
  let quantization = 0;
  let poolBlocks = 0;
  for (let i = 0; i < layout.numClasses; i++) {
    const p = pools[i]!;
    if (p === 0) continue;
    const size = classSize(layout, i);
    classes.push({ index: i, size, pools: p, blocksInUse: used[i]!, availableBlocks: free[i]! });
    poolBlocks += used[i]!;
    allocatedBytes += used[i]! * size;
    availableBytes += free[i]! * size;
    headerBytes += p * layout.poolOverhead;
    quantization += p * ((layout.poolSize - layout.poolOverhead) % size);
  }
  const total = allocatedBytes + availableBytes + unusedPools * layout.poolSize + headerBytes + quantization + alignmentLoss;
  const metadataBytes = state.arenaMapBytes + state.maxarenas * ARENA_OBJECT_SIZE + stateBytes(layout.numClasses, layout.maxPoolsInArena);
  return {
    smallRequestThreshold: layout.smallRequestThreshold,
    numClasses: layout.numClasses,
    poolSize: layout.poolSize,
    arenaSize: layout.arenaSize,
    classes,
    arenasAllocatedTotal: state.ntimesArenaAllocated,
    arenasReclaimed: state.ntimesArenaAllocated - narenas,
    arenasHighwaterMark: state.narenasHighwater,
    arenasAllocatedCurrent: narenas,
    bytesInAllocatedBlocks: allocatedBytes,
    bytesInAvailableBlocks: availableBytes,
    unusedPools,
    bytesLostToPoolHeaders: headerBytes,
    bytesLostToQuantization: quantization,
    bytesLostToArenaAlignment: alignmentLoss,
    total,
    bytesLostToArenaMapRoot: state.arenaMapBytes,
    rawAllocatedBlocks: state.rawAllocatedBlocks,
    metadataBytes,
    remoteFreesPending: countPending(heap, poolBlocks),
    allocatedBlocks: poolBlocks + state.rawAllocatedBlocks,
    allocatedBytes,
    mappedBytes: narenas * layout.arenaSize,
  };
}

/** The length of the heap's remote-free list (at most `limit`: a damaged list may loop). */
function countPending(heap: PymallocHeapView, limit: number): number {
  const u32 = heap.memory.u32;
  let n = 0;
  for (let p = u32[(heap.address >>> 2) + STATE_INBOX_WORD]!; p !== 0 && n < limit && p >>> 2 < u32.length; p = u32[p >>> 2]!) n++;
  return n;
}

/**
 * The statistics of several heaps as one (free-threading: every thread's heap, for the total
 * table of `debugMallocStats()`): classes, counters and bytes summed. The highwater mark is the
 * sum of the heaps' marks, which may exceed the most arenas the heaps held at one moment. All the
 * heaps must have one layout.
 *
 * @returns the summed statistics; for no heap at all, null
 */
export function sumStats(heaps: readonly (PymallocStats & AllocatorStats)[]): (PymallocStats & AllocatorStats) | null {
  const first = heaps[0];
  if (first === undefined) return null;
  const rows = new Map<number, SizeClassStats>();
  const sum = (get: (stats: PymallocStats & AllocatorStats) => number): number => heaps.reduce((total, stats) => total + get(stats), 0);
  for (const stats of heaps) {
    for (const c of stats.classes) {
      const row = rows.get(c.index);
      rows.set(c.index, row === undefined ? c : { ...row, pools: row.pools + c.pools, blocksInUse: row.blocksInUse + c.blocksInUse, availableBlocks: row.availableBlocks + c.availableBlocks });
    }
  }
  return {
    smallRequestThreshold: first.smallRequestThreshold,
    numClasses: first.numClasses,
    poolSize: first.poolSize,
    arenaSize: first.arenaSize,
    classes: [...rows.values()].sort((a, b) => a.index - b.index),
    arenasAllocatedTotal: sum((s) => s.arenasAllocatedTotal),
    arenasReclaimed: sum((s) => s.arenasReclaimed),
    arenasHighwaterMark: sum((s) => s.arenasHighwaterMark),
    arenasAllocatedCurrent: sum((s) => s.arenasAllocatedCurrent),
    bytesInAllocatedBlocks: sum((s) => s.bytesInAllocatedBlocks),
    bytesInAvailableBlocks: sum((s) => s.bytesInAvailableBlocks),
    unusedPools: sum((s) => s.unusedPools),
    bytesLostToPoolHeaders: sum((s) => s.bytesLostToPoolHeaders),
    bytesLostToQuantization: sum((s) => s.bytesLostToQuantization),
    bytesLostToArenaAlignment: sum((s) => s.bytesLostToArenaAlignment),
    total: sum((s) => s.total),
    bytesLostToArenaMapRoot: sum((s) => s.bytesLostToArenaMapRoot),
    rawAllocatedBlocks: sum((s) => s.rawAllocatedBlocks),
    metadataBytes: sum((s) => s.metadataBytes),
    remoteFreesPending: sum((s) => s.remoteFreesPending),
    allocatedBlocks: sum((s) => s.allocatedBlocks),
    allocatedBytes: sum((s) => s.allocatedBytes),
    mappedBytes: sum((s) => s.mappedBytes),
  };
}

/** `_Py_GetAllocatedBlocks`: raw blocks plus the `ref.count` of every carved pool. */
export function countAllocatedBlocks(heap: PymallocHeapView): number {
  let n = inspectState(heap).rawAllocatedBlocks;
  for (const arena of inspectArenas(heap)) {
    for (const pool of carvedPools(heap, arena)) n += inspectPool(heap, pool).count;
  }
  return n;
}
