/*
 * The region allocator's algorithms over the page map (layout in header.ts). A region is a run of
 * pages that begins with a START byte and continues with bytes of the same owner and no START.
 *
 * Mapping is first fit from the lowest page that may be free, at the requested alignment: it keeps
 * the address space compact and lets the memory grow only at its end. Regions are large (heap
 * segments, 1 MiB arenas, big blocks) and few, and a search reads at most one byte per page of the
 * address space, so these linear scans cost microseconds.
 */
import { PAGE_SIZE } from "../constants.ts";
import { PAGE_DIRTY, PAGE_OWNER_MASK, PAGE_START } from "./header.ts";

/**
 * Finds the first run of `pages` free pages whose first page is a multiple of `alignPages`, at or
 * above `from`, ending at or below `limit`. Pages past the committed end read as free (0).
 * @returns the first page of the run, or -1 when there is none
 */
export function findFreeRun(
  u8: Uint8Array,
  mapAt: number,
  from: number,
  limit: number,
  pages: number,
  alignPages: number,
): number {
  const mask = alignPages - 1;
  let start = (from + mask) & ~mask;
  while (start + pages <= limit) {
    let page = start;
    const end = start + pages;
    while (page < end && (u8[mapAt + page]! & PAGE_OWNER_MASK) === 0) page++;
    if (page === end) return start;
    // page is used: no run can start at or below it
    start = (page + 1 + mask) & ~mask;
  }
  return -1;
}

/** True when every page in [from, to) is free. */
export function pagesFree(u8: Uint8Array, mapAt: number, from: number, to: number): boolean {
  for (let page = from; page < to; page++) {
    if ((u8[mapAt + page]! & PAGE_OWNER_MASK) !== 0) return false;
  }
  return true;
}

/** The first page after the region that starts at `start` (scanning no further than `limit`). */
export function regionEnd(u8: Uint8Array, mapAt: number, start: number, limit: number): number {
  const owner = u8[mapAt + start]! & PAGE_OWNER_MASK;
  let page = start + 1;
  while (page < limit) {
    const byte = u8[mapAt + page]!;
    if ((byte & PAGE_START) !== 0 || (byte & PAGE_OWNER_MASK) !== owner) break;
    page++;
  }
  return page;
}

/** The first page of the region that holds `page` (which must be mapped). */
export function regionStart(u8: Uint8Array, mapAt: number, page: number): number {
  while (page > 0 && (u8[mapAt + page]! & PAGE_START) === 0) page--;
  return page;
}

/** Marks [start, start + pages) as one region of `owner`, continuing it when `continued`. */
export function markMapped(
  u8: Uint8Array,
  mapAt: number,
  start: number,
  pages: number,
  owner: number,
  continued: boolean,
): void {
  u8.fill(owner, mapAt + start, mapAt + start + pages);
  if (!continued) u8[mapAt + start] = PAGE_START | owner;
}

/** Marks [start, start + pages) free and dirty. */
export function markFree(u8: Uint8Array, mapAt: number, start: number, pages: number): void {
  u8.fill(PAGE_DIRTY, mapAt + start, mapAt + start + pages);
}

/**
 * Zeroes the dirty pages in [start, start + pages) of the memory that `u8` views, and
 * clears their DIRTY bits. Consecutive dirty pages are zeroed with one fill.
 */
export function zeroDirtyPages(u8: Uint8Array, mapAt: number, start: number, pages: number): void {
  const end = start + pages;
  let page = start;
  while (page < end) {
    if ((u8[mapAt + page]! & PAGE_DIRTY) === 0) {
      page++;
      continue;
    }
    let runEnd = page + 1;
    while (runEnd < end && (u8[mapAt + runEnd]! & PAGE_DIRTY) !== 0) runEnd++;
    u8.fill(0, page * PAGE_SIZE, runEnd * PAGE_SIZE);
    u8.fill(0, mapAt + page, mapAt + runEnd);
    page = runEnd;
  }
}
