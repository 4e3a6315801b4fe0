/*
 * The region allocator, tsmalloc's mmap: page-granular regions of the memory, recorded in the
 * header's page map (layout in header.ts, algorithms in page-map.ts), behind the header's lock on a
 * shared memory. LinearMemory's region calls (map, unmap, remap, regionAt, pageOwner, regions,
 * stats, grow) are these, after their arguments are checked.
 */
import { PAGE_SIZE } from "../constants.ts";
import { ErrorCode, TsmallocError } from "../errors.ts";
import { lockMutex, unlockMutex } from "../lock.ts";
import type { MemoryStats, Region } from "../memory-types.ts";
import { RegionOwner } from "../region-owner.ts";
import { formatAddress, requireAddress } from "../validate.ts";
import {
  FLAG_SHARED,
  HDR_BASE_PAGE,
  HDR_COMMITTED_PAGES,
  HDR_FLAGS,
  HDR_GENERATION,
  HDR_HEADER_PAGES,
  HDR_LOCK,
  HDR_MAGIC,
  HDR_MAPPED_PAGES,
  HDR_MAX_PAGES,
  HDR_REGION_COUNT,
  HDR_SEARCH_HINT,
  HDR_VERSION,
  MEMORY_MAGIC,
  MEMORY_VERSION,
  PAGE_DIRTY,
  PAGE_MAP_OFFSET,
  PAGE_OWNER_MASK,
  PAGE_START,
} from "./header.ts";
import { findFreeRun, markFree, markMapped, pagesFree, regionEnd, regionStart, zeroDirtyPages } from "./page-map.ts";

/**
 * What the region allocator needs of the LinearMemory it serves: its views, current as of the
 * last sync(), and its backing store's growth. LinearMemory hands it an object whose members
 * reach its private state.
 */
export interface Backing {
  readonly shared: boolean;
  /** The memory's current views (as of the last sync()). */
  u8(): Uint8Array;
  i32(): Int32Array;
  u32(): Uint32Array;
  /** Pages the views cover. */
  viewPages(): number;
  /** Refreshes the views when the memory grew elsewhere (any kind of backing). */
  sync(): void;
  /** Pages the backing store holds now (read from the store itself, not from the header). */
  committedPages(): number;
  /** Grows the backing store to `pages` pages; false when it cannot. Caller holds the lock. */
  growTo(pages: number): boolean;
}

/** The region table of one memory, as one LinearMemory instance sees it. */
export class RegionAllocator {
  readonly backing: Backing;
  readonly base: number;
  readonly baseWord: number;
  /** Byte offset of the page map. */
  readonly mapAt: number;
  readonly maxPages: number;
  readonly headerPages: number;

  constructor(backing: Backing, base: number, maxPages: number, headerPages: number) {
    this.backing = backing;
    this.base = base;
    this.baseWord = base >>> 2;
    this.mapAt = base + PAGE_MAP_OFFSET;
    this.maxPages = maxPages;
    this.headerPages = headerPages;
  }

  /**
   * Writes a fresh header: the header's own pages and the host's pages below `base` mapped, every
   * other page free (and dirty unless the memory is `fresh`, known to hold only zeros).
   */
  format(fresh: boolean): void {
    const backing = this.backing;
    const u8 = backing.u8();
    const words = backing.u32();
    const b = this.baseWord;
    const basePage = this.base / PAGE_SIZE;
    u8.fill(0, this.base, this.base + PAGE_MAP_OFFSET + this.maxPages);
    words[b + HDR_VERSION] = MEMORY_VERSION;
    words[b + HDR_FLAGS] = backing.shared ? FLAG_SHARED : 0;
    words[b + HDR_HEADER_PAGES] = this.headerPages;
    words[b + HDR_BASE_PAGE] = basePage;
    words[b + HDR_MAX_PAGES] = this.maxPages;
    words[b + HDR_COMMITTED_PAGES] = backing.viewPages();
    let regions = 1;
    if (basePage > 0) {
      markMapped(u8, this.mapAt, 0, basePage, RegionOwner.Host, false);
      regions++;
    }
    const headerEnd = basePage + this.headerPages;
    markMapped(u8, this.mapAt, basePage, this.headerPages, RegionOwner.Memory, false);
    if (!fresh) u8.fill(PAGE_DIRTY, this.mapAt + headerEnd, this.mapAt + backing.viewPages());
    words[b + HDR_MAPPED_PAGES] = headerEnd;
    words[b + HDR_REGION_COUNT] = regions;
    words[b + HDR_SEARCH_HINT] = headerEnd;
    words[b + HDR_GENERATION] = 1;
    // the magic goes last: a reader that sees it sees a complete header
    if (backing.shared) Atomics.store(backing.i32(), b + HDR_MAGIC, MEMORY_MAGIC | 0);
    else words[b + HDR_MAGIC] = MEMORY_MAGIC;
  }

  /**
   * Takes the region lock on a shared memory, then refreshes views that growth elsewhere made
   * stale: another worker's, on a shared memory; on a non-shared WebAssembly.Memory, another
   * instance attached to it or its owner calling `grow` (which detach the old buffer). Every
   * header access starts here or in a getter.
   */
  lock(): void {
    const backing = this.backing;
    if (backing.shared) lockMutex(backing.i32(), this.baseWord + HDR_LOCK);
    backing.sync();
  }

  unlock(): void {
    if (this.backing.shared) unlockMutex(this.backing.i32(), this.baseWord + HDR_LOCK);
  }

  /** Grows the memory by `pages` pages (LinearMemory.grow). */
  grow(pages: number): boolean {
    this.lock();
    try {
      const target = this.backing.committedPages() + pages;
      return target <= this.maxPages && this.backing.growTo(target);
    } finally {
      this.unlock();
    }
  }

  /** Maps `pages` pages aligned to `alignPages` pages for `owner` (LinearMemory.map). @returns the address or 0 */
  map(pages: number, alignPages: number, owner: number): number {
    this.lock();
    try {
      const backing = this.backing;
      const hint = backing.u32()[this.baseWord + HDR_SEARCH_HINT]!;
      const start = findFreeRun(backing.u8(), this.mapAt, hint, this.maxPages, pages, alignPages);
      if (start < 0) return 0;
      if (start + pages > backing.committedPages() && !backing.growTo(start + pages)) return 0;
      const u8 = backing.u8();
      zeroDirtyPages(u8, this.mapAt, start, pages);
      markMapped(u8, this.mapAt, start, pages, owner, false);
      this.#mapped(pages, 1);
      if (start === hint) this.#advanceHint(start + pages);
      return start * PAGE_SIZE;
    } finally {
      this.unlock();
    }
  }

  /** Unmaps the region that starts at page `start` (LinearMemory.unmap). @returns bytes unmapped */
  unmap(start: number, fn: string): number {
    this.lock();
    try {
      const backing = this.backing;
      const u8 = backing.u8();
      this.#checkRegionStart(start, fn);
      const end = regionEnd(u8, this.mapAt, start, this.maxPages);
      markFree(u8, this.mapAt, start, end - start);
      this.#mapped(start - end, -1);
      const hintIndex = this.baseWord + HDR_SEARCH_HINT;
      if (start < backing.u32()[hintIndex]!) backing.u32()[hintIndex] = start;
      return (end - start) * PAGE_SIZE;
    } finally {
      this.unlock();
    }
  }

  /** Resizes the region at page `start` to `pages` pages in place (LinearMemory.remap). */
  remap(start: number, pages: number, fn: string): boolean {
    this.lock();
    try {
      this.#checkRegionStart(start, fn);
      const backing = this.backing;
      const mapAt = this.mapAt;
      const end = regionEnd(backing.u8(), mapAt, start, this.maxPages);
      const newEnd = start + pages;
      if (newEnd === end) return true;
      if (newEnd < end) {
        markFree(backing.u8(), mapAt, newEnd, end - newEnd);
        this.#mapped(newEnd - end, 0);
        const hintIndex = this.baseWord + HDR_SEARCH_HINT;
        if (newEnd < backing.u32()[hintIndex]!) backing.u32()[hintIndex] = newEnd;
        return true;
      }
      if (newEnd > this.maxPages || !pagesFree(backing.u8(), mapAt, end, newEnd)) return false;
      if (newEnd > backing.committedPages() && !backing.growTo(newEnd)) return false;
      const u8 = backing.u8();
      const owner = u8[mapAt + start]! & PAGE_OWNER_MASK;
      zeroDirtyPages(u8, mapAt, end, newEnd - end);
      markMapped(u8, mapAt, end, newEnd - end, owner, true);
      this.#mapped(newEnd - end, 0);
      if (backing.u32()[this.baseWord + HDR_SEARCH_HINT] === end) this.#advanceHint(newEnd);
      return true;
    } finally {
      this.unlock();
    }
  }

  /** The region that holds page `page` (below maxPages), or null (LinearMemory.regionAt). */
  regionAt(page: number): Region | null {
    this.lock();
    try {
      const u8 = this.backing.u8();
      if ((u8[this.mapAt + page]! & PAGE_OWNER_MASK) === 0) return null;
      const start = regionStart(u8, this.mapAt, page);
      const end = regionEnd(u8, this.mapAt, start, this.maxPages);
      return { address: start * PAGE_SIZE, size: (end - start) * PAGE_SIZE, owner: u8[this.mapAt + start]! & PAGE_OWNER_MASK };
    } finally {
      this.unlock();
    }
  }

  /** Every mapped region in address order (LinearMemory.regions). */
  regions(): Region[] {
    this.lock();
    try {
      const u8 = this.backing.u8();
      const list: Region[] = [];
      const limit = Math.min(this.maxPages, this.backing.committedPages());
      let page = 0;
      while (page < limit) {
        const byte = u8[this.mapAt + page]!;
        if ((byte & PAGE_OWNER_MASK) === 0) {
          page++;
          continue;
        }
        const end = regionEnd(u8, this.mapAt, page, limit);
        list.push({ address: page * PAGE_SIZE, size: (end - page) * PAGE_SIZE, owner: byte & PAGE_OWNER_MASK });
        page = end;
      }
      return list;
    } finally {
      this.unlock();
    }
  }

  /** The address space in numbers (LinearMemory.stats). */
  stats(): MemoryStats {
    this.lock();
    try {
      const words = this.backing.u32();
      const b = this.baseWord;
      const committed = this.backing.committedPages();
      const mapped = words[b + HDR_MAPPED_PAGES]!;
      return {
        pageSize: PAGE_SIZE,
        byteLength: committed * PAGE_SIZE,
        maxByteLength: this.maxPages * PAGE_SIZE,
        mappedBytes: mapped * PAGE_SIZE,
        freeBytes: Math.max(0, committed - mapped) * PAGE_SIZE,
        regions: words[b + HDR_REGION_COUNT]!,
        generation: words[b + HDR_GENERATION]!,
      };
    } finally {
      this.unlock();
    }
  }

  /**
   * The page of the region start `address`, after checking that it is one at all.
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_POINTER` for an address that cannot start a region
   */
  requireRegionStart(address: number, fn: string): number {
    requireAddress(address, fn, "address");
    if (address % PAGE_SIZE !== 0 || address / PAGE_SIZE >= this.maxPages) {
      throw new TsmallocError(ErrorCode.InvalidPointer, `${fn}: ${formatAddress(address)} is not the start of a mapped region`, { address });
    }
    return address / PAGE_SIZE;
  }

  /** Throws unless `page` starts a region that its owner may unmap. Caller holds the lock. */
  #checkRegionStart(page: number, fn: string): void {
    const byte = this.backing.u8()[this.mapAt + page]!;
    const owner = byte & PAGE_OWNER_MASK;
    const address = page * PAGE_SIZE;
    if (owner === 0) {
      throw new TsmallocError(ErrorCode.InvalidPointer, `${fn}: no region is mapped at ${formatAddress(address)} (never mapped, or already unmapped)`, { address });
    }
    if ((byte & PAGE_START) === 0) {
      throw new TsmallocError(ErrorCode.InvalidPointer, `${fn}: ${formatAddress(address)} is inside a region, not at its start`, { address });
    }
    if (owner === RegionOwner.Memory || owner === RegionOwner.Host) {
      throw new TsmallocError(ErrorCode.InvalidPointer, `${fn}: ${formatAddress(address)} is the ${owner === RegionOwner.Memory ? "memory's header" : "host's pages"}, which cannot be unmapped or resized`, { address });
    }
  }

  /** Adds to the mapped-page and region counters and bumps the generation. Caller holds the lock. */
  #mapped(pages: number, regions: number): void {
    const words = this.backing.u32();
    const b = this.baseWord;
    words[b + HDR_MAPPED_PAGES] = words[b + HDR_MAPPED_PAGES]! + pages;
    words[b + HDR_REGION_COUNT] = words[b + HDR_REGION_COUNT]! + regions;
    words[b + HDR_GENERATION] = words[b + HDR_GENERATION]! + 1;
  }

  /** Moves the search hint from `page` to the first free page at or after it. */
  #advanceHint(page: number): void {
    const u8 = this.backing.u8();
    while (page < this.maxPages && (u8[this.mapAt + page]! & PAGE_OWNER_MASK) !== 0) page++;
    this.backing.u32()[this.baseWord + HDR_SEARCH_HINT] = page;
  }
}
