import { describeValue, ErrorCode, type LinearMemory, PAGE_SIZE, RegionOwner, TsmallocError } from "@tsmalloc/memory";

/**
 * Where arenas come from: CPython's `PyObjectArenaAllocator`. pymalloc asks it for whole arenas
 * only, always of the layout's `arenaSize`, and gives each back with the same size.
 *
 * An arena that is not aligned to the pool size costs one pool (pymalloc starts at the first
 * pool boundary inside it), as in CPython. The default, {@link regionArenaAllocator}, returns
 * arenas aligned to the pool size, so nothing is lost.
 */
export interface ArenaAllocator {
  /**
   * Returns the address of `size` bytes of the memory pymalloc may use until `free`, or 0 when
   * none can be had. Must not throw for lack of memory.
   */
  alloc(size: number): number;
  /** Takes back an arena `alloc` returned; `size` is the size it was asked for. */
  free(address: number, size: number): void;
}

/** Options of {@link regionArenaAllocator}. */
export interface RegionArenaAllocatorOptions {
  /**
   * The alignment of every arena: a power of two. Default: the page (64 KiB), a multiple of every
   * preset's pool size. Pymalloc passes its layout's pool size.
   */
  readonly alignment?: number | undefined;
}

/**
 * The default arena allocator, CPython's `mmap`/`munmap` pair: each arena is a region of the
 * memory's region allocator, owned by `RegionOwner.Arena`; a released arena is unmapped, so its
 * pages can serve any other region.
 *
 * Arenas are aligned to the pool size, not to the arena size: pymalloc needs no more (its arena
 * map records an arena that straddles two arena-sized chunks, as CPython's radix tree does for
 * `mmap`'s page-aligned arenas), and the region allocator then packs arenas with the heap's
 * segments. Aligned to 1 MiB, each arena left a hole of up to 15 pages below it, and the segment
 * below could not grow into it (py_compileall under `default`: 16 pages, 1 MiB, of holes).
 *
 * @returns an allocator whose `alloc` returns 0 when the memory cannot provide an arena and whose
 *   `free` throws `ERR_TSMALLOC_INVALID_POINTER` for an address that is not a mapped region
 * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_ALIGNMENT` when `alignment` is not a power
 *   of two
 */
export function regionArenaAllocator(memory: LinearMemory, options: RegionArenaAllocatorOptions = {}): ArenaAllocator {
  const alignment = options.alignment ?? PAGE_SIZE;
  if (!(typeof alignment === "number" && Number.isInteger(alignment) && alignment > 0 && alignment <= 2 ** 31 && (alignment & (alignment - 1)) === 0)) {
    throw new TsmallocError(ErrorCode.InvalidAlignment, `regionArenaAllocator: alignment must be a power of two, got ${describeValue(alignment)}`);
  }
  return {
    alloc(size: number): number {
      return memory.map(size, { alignment, owner: RegionOwner.Arena });
    },
    free(address: number): void {
      memory.unmap(address);
    },
  };
}
