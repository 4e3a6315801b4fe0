/**
 * Where obmalloc's structures sit in the memory. All of them are 32-bit words; pointer fields keep
 * the 8-byte slots of CPython's 64-bit structs (the address in the low word, the high word 0), so
 * a pool header is the 48 bytes that `POOL_OVERHEAD` counts on 64-bit CPython and each field is
 * at the offset CPython's compiler gives it.
 *
 * Offsets named `*_WORD` are indices into a `Uint32Array` relative to the struct's address / 4.
 */

/**
 * `struct pool_header`, at the start of every pool.
 *
 *     offset  field          meaning
 *          0  ref.count      number of allocated blocks in the pool
 *          8  freeblock      head of the pool's free list (0: none)
 *         16  nextpool       next pool of this size class (used pools), or next free pool
 *         24  prevpool       previous pool of this size class
 *         32  arenaindex     index of the pool's arena object in the arenas vector
 *         36  szidx          size class index (DUMMY_SIZE_IDX when never used)
 *         40  nextoffset     offset of the next never-used block
 *         44  maxnextoffset  largest valid nextoffset
 */
export const POOL_HEADER_SIZE = 48;
export const POOL_COUNT_WORD = 0;
export const POOL_FREEBLOCK_WORD = 2;
export const POOL_NEXTPOOL_WORD = 4;
export const POOL_PREVPOOL_WORD = 6;
export const POOL_ARENAINDEX_WORD = 8;
export const POOL_SZIDX_WORD = 9;
export const POOL_NEXTOFFSET_WORD = 10;
export const POOL_MAXNEXTOFFSET_WORD = 11;
/** Byte offset of `nextpool`: the `usedpools` trick points a virtual header this far before a slot pair. */
export const POOL_NEXTPOOL_OFFSET = 16;

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
 *        128  usedpools: 2 pointer slots per size class
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
