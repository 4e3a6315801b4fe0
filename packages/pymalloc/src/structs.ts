/**
 * Where obmalloc's structures sit in the memory. All of them are 32-bit words. The pool header
 * follows the platform of the layout (its `pointerSize`): on 64-bit layouts its pointer fields
 * keep the 8-byte slots of CPython's 64-bit struct (the address in the low word, the high word 0),
 * so it is the 48 bytes that `POOL_OVERHEAD` counts on 64-bit CPython; on the wasm32 layout every
 * field is 4 bytes, the 32 bytes of 32-bit CPython. Each field is at the offset CPython's compiler
 * gives it. The other structures keep the 64-bit offsets on every layout.
 *
 * Offsets named `*_WORD` are indices into a `Uint32Array` relative to the struct's address / 4.
 */

/**
 * `struct pool_header`, at the start of every pool.
 *
 *     64-bit  32-bit  field          meaning
 *          0       0  ref.count      number of allocated blocks in the pool
 *          8       4  freeblock      head of the pool's free list (0: none)
 *         16       8  nextpool       next pool of this size class (used pools), or next free pool
 *         24      12  prevpool       previous pool of this size class
 *         32      16  arenaindex     index of the pool's arena object in the arenas vector
 *         36      20  szidx          size class index (DUMMY_SIZE_IDX when never used)
 *         40      24  nextoffset     offset of the next never-used block
 *         44      28  maxnextoffset  largest valid nextoffset
 *
 * The word index of each field, the header's size, and the byte offset of `nextpool` (the
 * `usedpools` trick points a virtual header this far before a slot pair).
 */
export interface PoolHeaderFields extends Readonly<Record<PoolHeaderField, number>> {
  /** Bytes of the header: `sizeof(struct pool_header)`. */
  readonly size: number;
  /** Byte offset of `nextpool`: two pointers in. */
  readonly nextpoolOffset: number;
}

/** The fields of `struct pool_header`, by their CPython names. */
export type PoolHeaderField = "count" | "freeblock" | "nextpool" | "prevpool" | "arenaindex" | "szidx" | "nextoffset" | "maxnextoffset";

/** The pool header of 64-bit CPython (8-byte pointers). */
export const POOL_HEADER_64: PoolHeaderFields = Object.freeze({
  size: 48,
  count: 0,
  freeblock: 2,
  nextpool: 4,
  prevpool: 6,
  arenaindex: 8,
  szidx: 9,
  nextoffset: 10,
  maxnextoffset: 11,
  nextpoolOffset: 16,
});

/** The pool header of 32-bit CPython such as wasm32 (4-byte pointers). */
export const POOL_HEADER_32: PoolHeaderFields = Object.freeze({
  size: 32,
  count: 0,
  freeblock: 1,
  nextpool: 2,
  prevpool: 3,
  arenaindex: 4,
  szidx: 5,
  nextoffset: 6,
  maxnextoffset: 7,
  nextpoolOffset: 8,
});

/** The pool header of a platform with `pointerSize`-byte pointers (4 or 8). */
export function poolHeaderFields(pointerSize: number): PoolHeaderFields {
  return pointerSize === 4 ? POOL_HEADER_32 : POOL_HEADER_64;
}

/** `ref.count` is the first word of the header on every platform. */
export const POOL_COUNT_WORD = 0;

/** `DUMMY_SIZE_IDX`: the size class of a pool that was never used. */
export const DUMMY_SIZE_IDX = 0xffff;

/**
 * `struct arena_object`, one per slot of the arenas vector.
 *
 *     offset  field         meaning
 *          0  address       the arena's first byte (0: slot not associated with an arena)
 *          8  pool_address  next pool to carve (pool-aligned)
 *         16  nfreepools    free pools + never-carved pools
 *         20  ntotalpools   pools the arena holds (one less when it is not pool-aligned)
 *         24  freepools     singly linked list (through nextpool) of empty pools
 *         32  nextarena     usable_arenas / unused_arena_objects link
 *         40  prevarena     usable_arenas back link
 */
export const ARENA_OBJECT_SIZE = 48;
export const ARENA_ADDRESS_WORD = 0;
export const ARENA_POOL_ADDRESS_WORD = 2;
export const ARENA_NFREEPOOLS_WORD = 4;
export const ARENA_NTOTALPOOLS_WORD = 5;
export const ARENA_FREEPOOLS_WORD = 6;
export const ARENA_NEXTARENA_WORD = 8;
export const ARENA_PREVARENA_WORD = 10;

/** `INITIAL_ARENA_OBJECTS`: slots in the first arenas vector; it doubles after that. */
export const INITIAL_ARENA_OBJECTS = 16;

/**
 * The allocator's state block (CPython's `_obmalloc_state`), allocated from the raw allocator.
 *
 *     offset  field
 *          0  magic, layout version
 *          8  alignment, smallRequestThreshold, poolSize, arenaSize (the layout it was built with)
 *         24  lock word (shared memory)
 *         28  flags
 *         32  arenas (the vector's address), maxarenas
 *         40  unused_arena_objects, usable_arenas
 *         48  narenas_currently_allocated, ntimes_arena_allocated, narenas_highwater
 *         60  raw_allocated_blocks
 *         64  arena map address, arena map bytes
 *         72  salt (for the freed-block mark)
 *         76  pointer size of the layout (8 or 4; 0 in heaps made before it was recorded: 8)
 *         80  heap slot, slot table address, remote-free list damage, raw blocks freed by other
 *             threads (free-threading; else 0)
 *         96  remote-free list (free-threading), away from the words every call reads
 *        128  usedpools: 16 bytes per size class, the nextpool and prevpool slots of a virtual
 *             pool header (8-byte slots on 64-bit layouts, 4-byte ones on wasm32)
 *          …  nfp2lasta: MAX_POOLS_IN_ARENA + 1 arena object addresses
 */
export const STATE_MAGIC = 0x706d6c63; // "pmlc"
export const STATE_VERSION = 1;
export const STATE_MAGIC_WORD = 0;
export const STATE_VERSION_WORD = 1;
export const STATE_ALIGNMENT_WORD = 2;
export const STATE_THRESHOLD_WORD = 3;
export const STATE_POOL_SIZE_WORD = 4;
export const STATE_ARENA_SIZE_WORD = 5;
export const STATE_LOCK_WORD = 6;
export const STATE_FLAGS_WORD = 7;
/** Flag: an arena allocator other than the default was installed, or an arena came unaligned. */
export const FLAG_FOREIGN_ARENAS = 1;
export const STATE_ARENAS_WORD = 8;
export const STATE_MAXARENAS_WORD = 9;
export const STATE_UNUSED_ARENA_OBJECTS_WORD = 10;
export const STATE_USABLE_ARENAS_WORD = 11;
export const STATE_NARENAS_CURRENTLY_ALLOCATED_WORD = 12;
export const STATE_NTIMES_ARENA_ALLOCATED_WORD = 13;
export const STATE_NARENAS_HIGHWATER_WORD = 14;
export const STATE_RAW_ALLOCATED_BLOCKS_WORD = 15;
export const STATE_ARENA_MAP_WORD = 16;
export const STATE_ARENA_MAP_BYTES_WORD = 17;
export const STATE_SALT_WORD = 18;
export const STATE_POINTER_SIZE_WORD = 19;
/** The heap slot the heap belongs to (1..255), 0 for a heap of no slot. */
export const STATE_SLOT_WORD = 20;
/** Address of the memory's HeapSlots table the slot is in. */
export const STATE_HEAP_SLOTS_WORD = 21;
/** Blocks of the remote-free list the owner found damaged and left alone (check() reports them). */
export const STATE_INBOX_DAMAGE_WORD = 22;
/**
 * Raw blocks of this heap that other threads freed (free-threading; Atomics.add by them). The
 * owner counts its own in STATE_RAW_ALLOCATED_BLOCKS_WORD with plain stores; the heap's count
 * is the one less the other (inspectState).
 */
export const STATE_RAW_FREED_REMOTELY_WORD = 23;
/**
 * The remote-free list: the newest block another thread freed into this heap, 0 when none. Other
 * threads push with one compareExchange; the owner takes the whole list with one exchange before
 * it takes a new pool. A block on it holds the next one's address in its first word and the freed
 * mark in its second, as a block on a pool's free list does.
 */
export const STATE_INBOX_WORD = 24;
/** Byte offset of `usedpools` in the state block. */
export const STATE_USEDPOOLS_OFFSET = 128;

/** Bytes of the state block for a layout with `numClasses` classes and `maxPools` pools per arena. */
export function stateBytes(numClasses: number, maxPools: number): number {
  return STATE_USEDPOOLS_OFFSET + numClasses * 16 + (maxPools + 1) * 4;
}

/** Byte offset of `nfp2lasta` in the state block. */
export function nfp2lastaOffset(numClasses: number): number {
  return STATE_USEDPOOLS_OFFSET + numClasses * 16;
}

/** The root-table tag a heap is recorded under, for `Pymalloc.attach`. */
export const ROOT_TAG = "pyml";
