/*
 * The option and report types of LinearMemory (linear-memory.ts).
 */
import type { WasmMemoryLike } from "./internal/wasm.ts";

export type { WasmMemoryLike } from "./internal/wasm.ts";

/** What a {@link LinearMemory} can be built on. */
export type MemorySource = WasmMemoryLike | ArrayBuffer | SharedArrayBuffer;

/** Options of {@link LinearMemory}'s constructor. All sizes are in bytes. */
export interface LinearMemoryOptions {
  /**
   * Bytes the memory holds at first, rounded up to whole pages; never less than the header.
   * Only for a memory this constructor creates.
   * @defaultValue just the header (one or two pages); the memory grows as regions are mapped
   */
  readonly initial?: number;
  /**
   * The most bytes the memory may ever hold, rounded down to whole pages, at most 4 GiB - 64 KiB
   * ({@link MAX_PAGES} pages). It also sizes the page map (one byte per page): up to 4 GiB - 16 MiB
   * the header is one page, above it two. For a caller's buffer the default is what the buffer can
   * hold (its `maxByteLength` when resizable), capped the same way.
   * @defaultValue 4 GiB - 16 MiB ({@link DEFAULT_MAX_PAGES} pages)
   */
  readonly maximum?: number;
  /**
   * Create a shared `WebAssembly.Memory` (its buffer is a SharedArrayBuffer) that workers can use
   * at once. Only for a memory this constructor creates.
   * @defaultValue false
   */
  readonly shared?: boolean;
  /**
   * Build on this buffer instead of creating a `WebAssembly.Memory`: an ArrayBuffer or a
   * SharedArrayBuffer, fixed-size or resizable/growable. Its contents from `base` on are taken
   * over (the header is written over whatever was there).
   */
  readonly buffer?: ArrayBuffer | SharedArrayBuffer;
  /**
   * Build on this `WebAssembly.Memory` (a module's exported memory, say). Its contents from `base`
   * on are taken over.
   */
  readonly wasmMemory?: WasmMemoryLike;
  /**
   * Where tsmalloc's address space starts: a multiple of 64 KiB. The pages below belong to the
   * host (a WASM module's data and stack) and are never mapped.
   * @defaultValue 0
   */
  readonly base?: number;
  /**
   * The caller promises that a given `buffer` or `wasmMemory` holds only zeros, so that free pages
   * need not be cleared before they are first mapped. Leave it off when unsure.
   * @defaultValue false
   */
  readonly zeroed?: boolean;
}

/** Options of {@link LinearMemory.attach}. */
export interface AttachMemoryOptions {
  /** Where the header is: the `base` the memory was created with. @defaultValue 0 */
  readonly base?: number;
}

/** Options of {@link LinearMemory.map}. */
export interface MapOptions {
  /**
   * Power-of-two alignment of the region's address, in bytes. Regions are always page (64 KiB)
   * aligned; larger alignments (an arena aligned to its size, say) cost a search.
   * @defaultValue 65536
   */
  readonly alignment?: number;
  /**
   * Who the region belongs to, for reports: a {@link RegionOwner} value.
   * @defaultValue RegionOwner.User
   */
  readonly owner?: number;
}

/** One mapped region, as {@link LinearMemory.regions} reports it. */
export interface Region {
  /** First byte of the region (a multiple of 64 KiB). */
  readonly address: number;
  /** Bytes in the region (a multiple of 64 KiB). */
  readonly size: number;
  /** Who holds it: a {@link RegionOwner} value. */
  readonly owner: number;
}

/** The memory's address space in numbers, from {@link LinearMemory.stats}. */
export interface MemoryStats {
  readonly pageSize: number;
  /** Bytes the memory holds now (whole pages; the backing store may hold a few more). */
  readonly byteLength: number;
  /** Bytes the memory may grow to. */
  readonly maxByteLength: number;
  /** Bytes in mapped regions, the memory's own header and the host's pages included. */
  readonly mappedBytes: number;
  /** Bytes the memory holds but nobody has mapped. */
  readonly freeBytes: number;
  /** Number of mapped regions. */
  readonly regions: number;
  /** Changes whenever a region is mapped, unmapped or resized. */
  readonly generation: number;
}

/** A typed-array constructor, as {@link LinearMemory.view} takes it. */
export interface TypedArrayConstructorOf<T> {
  new (buffer: ArrayBuffer | SharedArrayBuffer, byteOffset: number, length: number): T;
  readonly BYTES_PER_ELEMENT: number;
}
