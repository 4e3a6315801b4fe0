import type { AllocatorStats } from "@tsmalloc/memory";
import { carvedPools, inspectArenas, inspectPool, inspectState, type PymallocHeapView } from "./inspect.ts";
import { blocksPerPool, classSize } from "./layout.ts";
import { ARENA_OBJECT_SIZE, stateBytes } from "./structs.ts";

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
    allocatedBlocks: poolBlocks + state.rawAllocatedBlocks,
    allocatedBytes,
    mappedBytes: narenas * layout.arenaSize,
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
