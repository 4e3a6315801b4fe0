export { type ArenaAllocator, regionArenaAllocator, type RegionArenaAllocatorOptions } from "./arena-allocator.ts";
export { checkHeap } from "./check.ts";
export { formatStats, formatStatsLine } from "./format-stats.ts";
export {
  type ArenaObjectInfo,
  carvedPools,
  firstPool,
  freeListOf,
  inspectArenaObject,
  inspectArenas,
  inspectPool,
  inspectState,
  type PoolHeaderInfo,
  type PymallocHeapView,
  type PymallocStateInfo,
  usableArenaOrder,
  usedpoolsHeader,
} from "./inspect.ts";
export {
  arenaMapBytes,
  blocksPerPool,
  classSize,
  type PymallocLayout,
  type PymallocLayoutName,
  type PymallocLayoutOptions,
  PymallocLayouts,
  resolveLayout,
} from "./layout.ts";
export { Pymalloc, type PymallocOptions } from "./pymalloc.ts";
export { collectStats, countAllocatedBlocks, type PymallocStats, type SizeClassStats, sumStats } from "./stats.ts";
