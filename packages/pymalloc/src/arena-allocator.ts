import { type LinearMemory, RegionOwner } from "@tsmalloc/memory";

/**
 * Where arenas come from: CPython's `PyObjectArenaAllocator`. pymalloc asks it for whole arenas
 * only, always of the layout's `arenaSize`, and gives each back with the same size.
 *
 * An arena that is not aligned to the pool size costs one pool (pymalloc starts at the first
 * pool boundary inside it), as in CPython. The default, {@link regionArenaAllocator}, returns
 * arenas aligned to their size, so nothing is lost.
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

/**
 * The default arena allocator, CPython's `mmap`/`munmap` pair: each arena is a region of the
 * memory's region allocator, aligned to its size and owned by `RegionOwner.Arena`; a released
 * arena is unmapped, so its pages can serve any other region.
 *
 * @returns an allocator whose `alloc` returns 0 when the memory cannot provide an arena and whose
 *   `free` throws `ERR_TSMALLOC_INVALID_POINTER` for an address that is not a mapped region
 */
export function regionArenaAllocator(memory: LinearMemory): ArenaAllocator {
  return {
    alloc(size: number): number {
      return memory.map(size, { alignment: size, owner: RegionOwner.Arena });
    },
    free(address: number): void {
      memory.unmap(address);
    },
  };
}
