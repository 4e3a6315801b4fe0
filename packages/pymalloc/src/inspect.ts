/**
 * Read-only views of a pymalloc heap's structures, decoded from the memory: for statistics,
 * `check()`, tests and visualizers. They copy numbers out; nothing here changes the heap. On
 * shared memory, read while no other thread allocates (or through `Pymalloc#stats()`, which locks).
 */
import type { LinearMemory } from "@tsmalloc/memory";
import type { PymallocLayout } from "./layout.ts";
import {
  ARENA_ADDRESS_WORD,
  ARENA_FREEPOOLS_WORD,
  ARENA_NEXTARENA_WORD,
  ARENA_NFREEPOOLS_WORD,
  ARENA_NTOTALPOOLS_WORD,
  ARENA_OBJECT_SIZE,
  ARENA_POOL_ADDRESS_WORD,
  ARENA_PREVARENA_WORD,
  nfp2lastaOffset,
  type PoolHeaderField,
  poolHeaderFields,
  STATE_ARENA_MAP_BYTES_WORD,
  STATE_ARENA_MAP_WORD,
  STATE_ARENAS_WORD,
  STATE_MAXARENAS_WORD,
  STATE_NARENAS_CURRENTLY_ALLOCATED_WORD,
  STATE_NARENAS_HIGHWATER_WORD,
  STATE_NTIMES_ARENA_ALLOCATED_WORD,
  STATE_RAW_ALLOCATED_BLOCKS_WORD,
  STATE_RAW_FREED_REMOTELY_WORD,
  STATE_UNUSED_ARENA_OBJECTS_WORD,
  STATE_USABLE_ARENAS_WORD,
  STATE_USEDPOOLS_OFFSET,
} from "./structs.ts";

/** What the readers need to find a heap: a `Pymalloc` is one. */
export interface PymallocHeapView {
  readonly memory: LinearMemory;
  /** The state block's address. */
  readonly address: number;
  readonly layout: PymallocLayout;
}

/** The allocator-wide state (CPython's `_obmalloc_state`), decoded. */
export interface PymallocStateInfo {
  /** Address of the arenas vector (0 before the first arena). */
  readonly arenas: number;
  /** Slots in the arenas vector. */
  readonly maxarenas: number;
  /** Head of the list of arena objects with no arena. */
  readonly unusedArenaObjects: number;
  /** Head of the list of arenas with free pools, fewest free first. */
  readonly usableArenas: number;
  readonly narenasCurrentlyAllocated: number;
  readonly ntimesArenaAllocated: number;
  readonly narenasHighwater: number;
  /** Raw blocks handed out by pymalloc and not yet freed. */
  readonly rawAllocatedBlocks: number;
  /** Address and size of the arena map. */
  readonly arenaMap: number;
  readonly arenaMapBytes: number;
  /** Per size class: the first pool of `usedpools[class]`, 0 when the list is empty. */
  readonly usedpools: readonly number[];
  /** `nfp2lasta[n]` for n = 0..MAX_POOLS_IN_ARENA: arena object addresses, 0 for none. */
  readonly nfp2lasta: readonly number[];
}

/** One slot of the arenas vector (`struct arena_object`), decoded. */
export interface ArenaObjectInfo {
  /** Index in the arenas vector (what pool headers store). */
  readonly index: number;
  /** Address of the arena object itself (what the lists link). */
  readonly object: number;
  /** The arena's first byte; 0 when the slot holds no arena. */
  readonly address: number;
  /** The next pool to carve. */
  readonly poolAddress: number;
  readonly nfreepools: number;
  readonly ntotalpools: number;
  /** Head of the arena's list of empty pools. */
  readonly freepools: number;
  readonly nextarena: number;
  readonly prevarena: number;
}

/** A pool header (`struct pool_header`), decoded: its address and the value of each field. */
export interface PoolHeaderInfo extends Readonly<Record<PoolHeaderField, number>> {
  readonly address: number;
}

/** Decodes the state block. */
export function inspectState(heap: PymallocHeapView): PymallocStateInfo {
  const u32 = heap.memory.u32;
  const w = heap.address >>> 2;
  const usedpools: number[] = [];
  for (let i = 0; i < heap.layout.numClasses; i++) {
    const header = usedpoolsHeader(heap, i);
    const first = u32[(header >>> 2) + poolHeaderFields(heap.layout.pointerSize).nextpool]!;
    usedpools.push(first === header ? 0 : first);
  }
  const fingers = (heap.address + nfp2lastaOffset(heap.layout.numClasses)) >>> 2;
  const nfp2lasta = Array.from(u32.subarray(fingers, fingers + heap.layout.maxPoolsInArena + 1));
  return {
    arenas: u32[w + STATE_ARENAS_WORD]!,
    maxarenas: u32[w + STATE_MAXARENAS_WORD]!,
    unusedArenaObjects: u32[w + STATE_UNUSED_ARENA_OBJECTS_WORD]!,
    usableArenas: u32[w + STATE_USABLE_ARENAS_WORD]!,
    narenasCurrentlyAllocated: u32[w + STATE_NARENAS_CURRENTLY_ALLOCATED_WORD]!,
    ntimesArenaAllocated: u32[w + STATE_NTIMES_ARENA_ALLOCATED_WORD]!,
    narenasHighwater: u32[w + STATE_NARENAS_HIGHWATER_WORD]!,
    // free-threading: less the heap's raw blocks other threads freed (0 for any other heap)
    rawAllocatedBlocks: Math.max(0, u32[w + STATE_RAW_ALLOCATED_BLOCKS_WORD]! - u32[w + STATE_RAW_FREED_REMOTELY_WORD]!),
    arenaMap: u32[w + STATE_ARENA_MAP_WORD]!,
    arenaMapBytes: u32[w + STATE_ARENA_MAP_BYTES_WORD]!,
    usedpools,
    nfp2lasta,
  };
}

/** The address of the virtual pool header that heads `usedpools[sizeClass]` (the list's end marker). */
export function usedpoolsHeader(heap: PymallocHeapView, sizeClass: number): number {
  return heap.address + STATE_USEDPOOLS_OFFSET + (sizeClass << 4) - poolHeaderFields(heap.layout.pointerSize).nextpoolOffset;
}

/** Decodes the arena object at `object` (an address inside the arenas vector). */
export function inspectArenaObject(heap: PymallocHeapView, object: number): ArenaObjectInfo {
  const u32 = heap.memory.u32;
  const arenas = u32[(heap.address >>> 2) + STATE_ARENAS_WORD]!;
  const w = object >>> 2;
  return {
    index: (object - arenas) / ARENA_OBJECT_SIZE,
    object,
    address: u32[w + ARENA_ADDRESS_WORD]!,
    poolAddress: u32[w + ARENA_POOL_ADDRESS_WORD]!,
    nfreepools: u32[w + ARENA_NFREEPOOLS_WORD]!,
    ntotalpools: u32[w + ARENA_NTOTALPOOLS_WORD]!,
    freepools: u32[w + ARENA_FREEPOOLS_WORD]!,
    nextarena: u32[w + ARENA_NEXTARENA_WORD]!,
    prevarena: u32[w + ARENA_PREVARENA_WORD]!,
  };
}

/** Every slot of the arenas vector, in index order (slots with `address` 0 hold no arena). */
export function inspectArenas(heap: PymallocHeapView): ArenaObjectInfo[] {
  const state = inspectState(heap);
  const arenas: ArenaObjectInfo[] = [];
  for (let i = 0; i < state.maxarenas; i++) arenas.push(inspectArenaObject(heap, state.arenas + i * ARENA_OBJECT_SIZE));
  return arenas;
}

/** The arena objects of `usable_arenas`, head first (bounded by the vector's size). */
export function usableArenaOrder(heap: PymallocHeapView): ArenaObjectInfo[] {
  const state = inspectState(heap);
  const order: ArenaObjectInfo[] = [];
  for (let a = state.usableArenas; a !== 0 && order.length <= state.maxarenas; ) {
    const info = inspectArenaObject(heap, a);
    order.push(info);
    a = info.nextarena;
  }
  return order;
}

/** Decodes the pool header at `pool`. */
export function inspectPool(heap: PymallocHeapView, pool: number): PoolHeaderInfo {
  const u32 = heap.memory.u32;
  const w = pool >>> 2;
  const f = poolHeaderFields(heap.layout.pointerSize);
  return {
    address: pool,
    count: u32[w + f.count]!,
    freeblock: u32[w + f.freeblock]!,
    nextpool: u32[w + f.nextpool]!,
    prevpool: u32[w + f.prevpool]!,
    arenaindex: u32[w + f.arenaindex]!,
    szidx: u32[w + f.szidx]!,
    nextoffset: u32[w + f.nextoffset]!,
    maxnextoffset: u32[w + f.maxnextoffset]!,
  };
}

/** The first pool boundary of an arena: its address, or the next multiple of the pool size. */
export function firstPool(heap: PymallocHeapView, arena: ArenaObjectInfo): number {
  const mask = heap.layout.poolSize - 1;
  return (arena.address & mask) === 0 ? arena.address : arena.address - (arena.address & mask) + heap.layout.poolSize;
}

/** The pools of an arena carved so far (from its first pool up to `poolAddress`), as addresses. */
export function carvedPools(heap: PymallocHeapView, arena: ArenaObjectInfo): number[] {
  const pools: number[] = [];
  if (arena.address === 0) return pools;
  const end = Math.min(arena.poolAddress, arena.address + heap.layout.arenaSize);
  for (let pool = firstPool(heap, arena); pool < end; pool += heap.layout.poolSize) pools.push(pool);
  return pools;
}

/**
 * The blocks on a pool's free list, head first. Stops at `limit` entries (default: the most a
 * pool can hold, plus one, so a cycle shows as an over-long list) or at a link leaving the pool.
 */
export function freeListOf(heap: PymallocHeapView, pool: number, limit: number = (heap.layout.poolSize >>> heap.layout.alignmentShift) + 1): number[] {
  const u32 = heap.memory.u32;
  const blocks: number[] = [];
  for (let b = u32[(pool >>> 2) + poolHeaderFields(heap.layout.pointerSize).freeblock]!; b !== 0 && blocks.length < limit; b = u32[b >>> 2]!) {
    blocks.push(b);
    if (b < pool || b - pool >= heap.layout.poolSize) break;
  }
  return blocks;
}
