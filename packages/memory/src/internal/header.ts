/*
 * The memory header: the first page(s) at `base`, owned by the memory itself (RegionOwner.Memory).
 * Everything the region allocator knows lives here, so that every worker attached to a shared
 * memory, and anybody who opens a saved buffer, sees the same address space.
 *
 *   base + 0     +----------------------------------------------------+
 *                | 32-bit fields, HDR_* below (word indices)          |
 *   base + 64    +----------------------------------------------------+
 *                | root table: ROOT_SLOTS x (tag, address)            |
 *   base + 256   +----------------------------------------------------+
 *                | page map: one byte per page of the address space,  |
 *                | maxPages bytes, indexed by absolute page number    |
 *                +----------------------------------------------------+
 *                | (rest of the last header page unused)              |
 *                +----------------------------------------------------+
 *
 * A page-map byte reads
 *
 *     bit 7       START: the first page of a region
 *     bit 6       DIRTY: a free page that may hold old data (zeroed before it is mapped again)
 *     bits 0..5   owner of a mapped page (RegionOwner), 0 for a free page
 *
 * Pages that the memory has not committed yet are free and clean (0): growth brings zeroed pages.
 */

/** "TSMM" read as a little-endian 32-bit word. */
export const MEMORY_MAGIC = 0x4d4d5354;
/** Layout version of the header; attach() refuses any other. */
export const MEMORY_VERSION = 1;

export const HDR_MAGIC = 0;
export const HDR_VERSION = 1;
/** The region lock (a lock.ts mutex) on a shared memory. */
export const HDR_LOCK = 2;
export const HDR_FLAGS = 3;
export const HDR_HEADER_PAGES = 4;
export const HDR_BASE_PAGE = 5;
export const HDR_MAX_PAGES = 6;
/** Pages the backing store holds, as last seen by a thread that grew it. */
export const HDR_COMMITTED_PAGES = 7;
export const HDR_MAPPED_PAGES = 8;
export const HDR_REGION_COUNT = 9;
/** No page below this one is free: searches start here. */
export const HDR_SEARCH_HINT = 10;
/** Bumped by every map, unmap and remap, so that observers can tell when to redraw. */
export const HDR_GENERATION = 11;

export const FLAG_SHARED = 1;

/** Word index of the root table, and its size. */
export const HDR_ROOTS = 16;
export const ROOT_SLOTS = 24;

/** Byte offset of the page map from base. */
export const PAGE_MAP_OFFSET = 256;

export const PAGE_START = 0x80;
export const PAGE_DIRTY = 0x40;
export const PAGE_OWNER_MASK = 0x3f;
