/** The null pointer. No allocator ever hands out address 0. */
export const NULL = 0;

/** Bytes in a page of linear memory: the WebAssembly page, and the granule of every region. */
export const PAGE_SIZE = 65536;

/** log2 of {@link PAGE_SIZE}. */
export const PAGE_SHIFT = 16;

/**
 * Pages of the largest address space tsmalloc manages: 65535, one page short of 4 GiB, so that
 * every address *and every end address* (address + size) fits in 32 bits. A memory of a full
 * 4 GiB works; its last page is never mapped.
 */
export const MAX_PAGES = 65535;

/** Bytes of the largest address space tsmalloc manages (4 GiB - 64 KiB). Every pointer is below it. */
export const MAX_MEMORY_BYTES: number = MAX_PAGES * PAGE_SIZE;

/**
 * Pages of the address space a memory gets when no `maximum` is given: 65280 (4 GiB - 16 MiB),
 * the most whose page map (one byte per page) still fits the header's first page. Pass
 * `maximum` to go up to {@link MAX_PAGES} at the cost of a second header page.
 */
export const DEFAULT_MAX_PAGES = 65280;
