/*
 * The in-memory layout of a malloc heap. Every structure lives in the linear memory, addressed by
 * 32-bit word index (address >>> 2), so that a heap can be shared with workers, saved and opened
 * again, and checked.
 *
 * A heap is a list of SEGMENTS (regions mapped from the memory, owner RegionOwner.Malloc) cut into
 * BLOCKS, plus LARGE BLOCKS that each have a region of their own (owner RegionOwner.MallocLarge).
 * The heap header sits in the first segment, right after that segment's header:
 *
 *   segment 0                                                      segment end E
 *   +---------+-------------+------+-----------------------------+----------+
 *   | segment | heap header | pad  | block | block | ... | block | sentinel |
 *   | header  | (H_* words) |      |       |       |     |       | (8 bytes)|
 *   +---------+-------------+------+-----------------------------+----------+
 *
 * Other segments have only the segment header before their first block.
 *
 * A BLOCK is an 8-byte header followed by its payload; the payload address P is 16-aligned and is
 * the block's handle (what malloc returns). Sizes count the header, are multiples of 16, and are
 * at least 16, so that a free block's payload holds its two free-list links:
 *
 *        P-8             P-4             P (16-aligned)                         P+size-8
 *        +---------------+---------------+--------------------------------------+
 *        | left word     | size | flags  | payload: size-8 bytes                 |
 *        +---------------+---------------+--------------------------------------+
 *                                         free block: [P] next free, [P+4] prev free
 *
 * The LEFT WORD is the boundary tag of the block to the left while that block is free (its size,
 * so that free() can coalesce leftwards), and a CHECK WORD, (P ^ size ^ salt), while it is used;
 * the salt is the heap's address ^ CHECK_MAGIC. Free therefore validates a pointer in O(1): either
 * the check word matches, or the left neighbour it points to is a free block of exactly that size
 * and the block `size` bytes on holds the check word of a block whose left neighbour is used (this
 * one). Interior and foreign pointers, and damaged headers, fail these tests (with odds of 2^-32
 * for arbitrary data) and are refused before anything is written. The check word does not cover
 * the flags: FIRST is checked against where first blocks can be.
 *
 * No two free blocks are ever adjacent: free() coalesces at once. So a free block's left
 * neighbour is always used and its own left word is a check word too.
 *
 * The SENTINEL is a header at the segment's end with size 0 and no FREE flag: coalescing to the
 * right stops there, and its left word is the last block's boundary tag when that block is free.
 *
 * Free blocks are kept in TLSF lists (Masmano et al., "TLSF: a new dynamic memory allocator for
 * real-time systems", 2004): a first level per power of two and SL_COUNT second-level lists that
 * split each power of two linearly, found in O(1) through two levels of bitmaps.
 */

// ---------------------------------------------------------------------------------------------
// Blocks

/** The block is free. */
export const FREE = 1;
/** The block to the left is free; the left word is its size. */
export const PREV_FREE = 2;
/** The block is the first of its segment (lets free() see that a segment is wholly free). */
export const FIRST = 4;
/** The block is a large block in a region of its own. */
export const LARGE = 8;
export const FLAG_MASK = 15;

/** Payload alignment, and the granule of block sizes. */
export const ALIGNMENT = 16;
/** Bytes of block header before every payload. */
export const BLOCK_HEADER = 8;
/** The smallest block: header and two free-list links. */
export const MIN_BLOCK = 16;

export const CHECK_MAGIC = 0x5a17c0de;
/**
 * A block waiting on a remote-free list has (P ^ salt ^ PENDING_MAGIC) in its second payload word:
 * a second free of it, from any thread, is refused as a double free.
 */
export const PENDING_MAGIC = 0x2e3071d5;
/** A large block's left word is (region address ^ LARGE_CHECK_MAGIC). */
export const LARGE_CHECK_MAGIC = 0x1a26eb10;

// ---------------------------------------------------------------------------------------------
// TLSF index

/** log2 of the number of second-level lists per first level. */
export const SL_BITS = 4;
export const SL_COUNT: number = 1 << SL_BITS;
/** Blocks below this size (256) sit in first level 0, in lists 16 bytes apart. */
export const SMALL_BLOCK: number = 1 << (SL_BITS + 4);
/** First levels: level 0 below 256 bytes, then one per power of two up to 2^31. */
export const FL_COUNT = 24;

// ---------------------------------------------------------------------------------------------
// Heap header (word offsets from the heap address)

/** "TSML" read as a little-endian 32-bit word. */
export const HEAP_MAGIC = 0x4c4d5354;
export const HEAP_VERSION = 1;

export const H_MAGIC = 0;
export const H_VERSION = 1;
/** The heap's mutex (lock.ts) when the memory is shared. */
export const H_LOCK = 2;
export const H_FLAGS = 3;
export const H_MMAP_THRESHOLD = 4;
export const H_SEGMENT_SIZE = 5;
export const H_SEGMENT_COUNT = 6;
/** The newest segment; segments are doubly linked through SEG_NEXT / SEG_PREV. */
export const H_SEGMENT_HEAD = 7;
/** The newest large block; large blocks are doubly linked through LARGE_NEXT / LARGE_PREV. */
export const H_LARGE_HEAD = 8;
export const H_LARGE_COUNT = 9;
/** Bytes of the regions of large blocks. */
export const H_LARGE_BYTES = 10;
/** Usable bytes of large blocks. */
export const H_LARGE_USABLE = 11;
export const H_SEGMENT_BYTES = 12;
// nothing is counted per call: stats() walks the heap. Words 13..16 serve a heap of a heap slot
// (free-threading, see malloc.ts); they are 0 in any other heap.
/**
 * The remote-free list: payload address of the newest block another thread freed into this heap,
 * 0 when none. Other threads push with one compareExchange; the owner takes the whole list with
 * one exchange. A block on it holds the next one's address in its first payload word and the
 * pending mark in its second.
 */
export const H_INBOX = 13;
/** The heap slot the heap belongs to (1..255), 0 for a heap of no slot. */
export const H_SLOT = 14;
/** Address of the memory's HeapSlots table the slot is in. */
export const H_SLOTS = 15;
/** Blocks of the remote-free list the owner found damaged and left alone (check() reports them). */
export const H_INBOX_DAMAGE = 16;
/**
 * The first block of a wholly free segment kept mapped for reuse, or 0. Like pymalloc's rule of
 * keeping one empty arena, it stops a heap that hovers at a segment boundary from mapping and
 * unmapping a segment on every call; a second segment that empties is unmapped.
 */
export const H_EMPTY_SEGMENT_BLOCK = 17;
/** Bit fl set when first level fl has a non-empty list. */
export const H_FL_BITMAP = 18;
/** The first segment's address (it holds this header and is never unmapped). */
export const H_FIRST_SEGMENT = 19;
/** Word offset of the FL_COUNT second-level bitmaps. */
export const H_SL_BITMAPS = 24;
/** Word offset of the FL_COUNT x SL_COUNT list heads (block payload addresses, 0 = empty). */
export const H_HEADS: number = H_SL_BITMAPS + FL_COUNT;
/** Bytes of the heap header, a multiple of 16. */
export const HEAP_HEADER_BYTES: number = (H_HEADS + FL_COUNT * SL_COUNT) * 4;

export const FLAG_SHARED = 1;

// ---------------------------------------------------------------------------------------------
// Segment header (word offsets from the segment address)

/** "TSSG" read as a little-endian 32-bit word. */
export const SEGMENT_MAGIC = 0x47535354;
export const SEG_MAGIC = 0;
/** Bytes in the segment (a multiple of the page size). */
export const SEG_SIZE = 1;
export const SEG_NEXT = 2;
export const SEG_PREV = 3;
/** The heap the segment belongs to. */
export const SEG_HEAP = 4;
/** Payload address of the segment's first block. */
export const SEG_FIRST_BLOCK = 5;
/** Bytes of the segment header; with the first block's header it puts the first payload at +32. */
export const SEGMENT_HEADER_BYTES = 24;
/** Bytes a segment spends on its header and sentinel besides blocks. */
export const SEGMENT_OVERHEAD: number = SEGMENT_HEADER_BYTES + BLOCK_HEADER + BLOCK_HEADER;

// ---------------------------------------------------------------------------------------------
// Large block record (word offsets from the region address)

/** "TSLB" read as a little-endian 32-bit word. */
export const LARGE_MAGIC = 0x424c5354;
export const LARGE_MAGIC_AT = 0;
/** Bytes in the region. */
export const LARGE_REGION_SIZE = 1;
export const LARGE_NEXT = 2;
export const LARGE_PREV = 3;
export const LARGE_HEAP = 4;
/** Payload address of the block. */
export const LARGE_PAYLOAD = 5;
/** Bytes before the payload of a large block with default alignment (record + block header). */
export const LARGE_HEADER_BYTES = 32;

// ---------------------------------------------------------------------------------------------
// Options

/** The memory root tag under which the default heap records its address. */
export const ROOT_TAG = "mllc";
