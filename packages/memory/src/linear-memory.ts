import { MAX_PAGES, PAGE_SIZE } from "./constants.ts";
import { ErrorCode, TsmallocError } from "./errors.ts";
import { bytesOf, copyBytes, fillBytes, viewOf } from "./internal/block-helpers.ts";
import {
  HDR_BASE_PAGE,
  HDR_COMMITTED_PAGES,
  HDR_GENERATION,
  HDR_HEADER_PAGES,
  HDR_MAGIC,
  HDR_MAX_PAGES,
  HDR_VERSION,
  MEMORY_MAGIC,
  MEMORY_VERSION,
  PAGE_MAP_OFFSET,
  PAGE_OWNER_MASK,
} from "./internal/header.ts";
import { headerPagesFor, type MemoryPlan, optionError, planMemory, requireOptionBytes } from "./internal/memory-plan.ts";
import { type Backing, RegionAllocator } from "./internal/region-allocator.ts";
import { encodeTag, getRoot, setRoot, setRootIfAbsent } from "./internal/root-table.ts";
import { isBuffer, isSharedBuffer, isWasmMemoryLike, type WasmMemoryLike } from "./internal/wasm.ts";
import type {
  AttachMemoryOptions,
  LinearMemoryOptions,
  MapOptions,
  MemorySource,
  MemoryStats,
  Region,
  TypedArrayConstructorOf,
} from "./memory-types.ts";
import { MAX_REGION_OWNER, RegionOwner } from "./region-owner.ts";
import { describeValue, formatAddress, isAddress, isPowerOfTwo, requireAddress, requireSize } from "./validate.ts";

/** How a memory is backed, which decides how growth and view refreshing work. */
const KIND_WASM = 0;
const KIND_SHARED_WASM = 1;
const KIND_FIXED = 2;
const KIND_RESIZABLE = 3;
const KIND_GROWABLE_SHARED = 4;

/** How views learn of growth: never needed (fixed buffers), by noticing detachment (non-shared
 * WebAssembly.Memory), by the page count in the header (the others). */
const SYNC_NEVER = 0;
const SYNC_DETACHED = 1;
const SYNC_HEADER = 2;

type Kind = 0 | 1 | 2 | 3 | 4;

/**
 * The key under which attach() hands the constructor the plan of a memory to open (which it then
 * formats nothing in). Only this module can name it, so a caller's options never carry it.
 */
const ATTACHED: unique symbol = Symbol("LinearMemory.attach");

/** The constructor's options as attach() passes them. */
interface AttachedOptions extends LinearMemoryOptions {
  readonly [ATTACHED]: MemoryPlan;
}

/** The plan attach() put into `options`, or undefined for a caller's options. */
function attachedPlan(options: unknown): MemoryPlan | undefined {
  return typeof options === "object" && options !== null ? (options as Partial<AttachedOptions>)[ATTACHED] : undefined;
}

/**
 * One growable range of bytes, the "physical memory" of tsmalloc: a `WebAssembly.Memory` (shared
 * or not) or a caller's ArrayBuffer / SharedArrayBuffer. Addresses are byte offsets into it; 0 is
 * NULL and never handed out.
 *
 * It owns the address space, as an operating system does: allocators get their pages from its
 * **region allocator** ({@link LinearMemory.map} / {@link LinearMemory.unmap}, tsmalloc's mmap and
 * munmap), which keeps its table in the memory's own header, so every worker sharing the memory
 * and anybody opening a saved copy sees the same regions. Nothing else grows the memory.
 *
 * The typed views (`u8`, `u16`, `i32`, `u32`, `f64`, `dataView`) always cover the whole memory,
 * also after growth, including growth done by another worker on a shared memory. Fetch them again
 * after anything that may grow the memory (any allocation): on a non-shared `WebAssembly.Memory`,
 * growth detaches the old buffer and every view of it.
 *
 * Layout:
 * ```
 *   0 ......... base                base + header               byteLength   maxByteLength
 *   | host pages | header: fields, |  regions: heap segments,  |  ...grows ...  |
 *   | (optional) | roots, page map |  arenas, big blocks, gaps |                |
 * ```
 *
 * @example
 * ```ts
 * const memory = new LinearMemory();                       // growable WebAssembly.Memory
 * const region = memory.map(1 << 20, { alignment: 1 << 20 }); // 1 MiB, 1 MiB-aligned, zeroed
 * memory.u8[region] = 42;
 * memory.unmap(region);
 * ```
 */
export class LinearMemory {
  readonly #source: MemorySource;
  readonly #wasm: WasmMemoryLike | null;
  readonly #kind: Kind;
  readonly #syncMode: number;
  readonly #shared: boolean;
  readonly #committedWord: number;
  readonly #maxPages: number;
  /** The region allocator over the header (internal/region-allocator.ts). */
  readonly #regions: RegionAllocator;
  #buffer: ArrayBuffer | SharedArrayBuffer;
  #viewPages = 0;
  // the views are made by #refreshViews(), which the constructor calls
  #u8!: Uint8Array;
  #u16!: Uint16Array;
  #i32!: Int32Array;
  #u32!: Uint32Array;
  #f64!: Float64Array;
  #dataView!: DataView;

/**
   * Creates a memory and writes a fresh header into it (at `base`).
   *
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` when an option is out of range,
   *   options contradict each other, the platform has no WebAssembly (create from a `buffer`
   *   then), or the given buffer is too small to hold the header
   */
  constructor(options: LinearMemoryOptions = {}) {
    const attaching = attachedPlan(options);
    const plan = attaching ?? planMemory(options);
    const { source, base, maxPages } = plan;
    this.#source = source;
    this.#wasm = isBuffer(source) ? null : source;
    this.#kind = kindOf(source);
    this.#shared = isSharedBuffer(isBuffer(source) ? source : source.buffer);
    this.#syncMode = this.#kind === KIND_WASM ? SYNC_DETACHED : this.#kind === KIND_FIXED ? SYNC_NEVER : SYNC_HEADER;
    this.#committedWord = (base >>> 2) + HDR_COMMITTED_PAGES;
    this.#maxPages = maxPages;
    this.#buffer = this.#currentBuffer();
    this.#refreshViews();
    this.#regions = new RegionAllocator(this.#backingAccess(), base, maxPages, headerPagesFor(maxPages));
    if (attaching !== undefined) return;

    const headerEnd = base / PAGE_SIZE + this.#regions.headerPages;
    if (this.#viewPages < headerEnd && !this.#growTo(headerEnd)) {
      throw optionError(`LinearMemory: the given memory holds ${this.#buffer.byteLength} bytes and cannot grow to the ${headerEnd * PAGE_SIZE} bytes its header needs at base ${base}`);
    }
    this.#regions.format(plan.fresh);
  }

/**
   * Opens a memory whose header an earlier {@link LinearMemory} wrote: the same shared memory in
   * another worker, or a buffer saved earlier. Nothing in the memory changes.
   *
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INCOMPATIBLE` when there is no tsmalloc header at
   *   `base`, it has another layout version, or it describes more memory than `source` holds;
   *   `ERR_TSMALLOC_INVALID_OPTION` when `source` or `base` is not usable
   */
  static attach(source: MemorySource, options: AttachMemoryOptions = {}): LinearMemory {
    if (!isBuffer(source) && !isWasmMemoryLike(source)) {
      throw optionError(`LinearMemory.attach: source must be a WebAssembly.Memory, ArrayBuffer or SharedArrayBuffer, got ${describeValue(source)}`);
    }
    if (typeof options !== "object" || options === null) {
      throw optionError(`LinearMemory.attach: options must be an object, got ${describeValue(options)}`);
    }
    const base = options.base === undefined ? 0 : requireOptionBytes(options.base, "base");
    if (base % PAGE_SIZE !== 0) throw optionError(`LinearMemory.attach: base must be a multiple of ${PAGE_SIZE}, got ${base}`);
    const buffer = isBuffer(source) ? source : source.buffer;
    const incompatible = (why: string): TsmallocError =>
      new TsmallocError(ErrorCode.Incompatible, `LinearMemory.attach: ${why}`, { address: base });
    if (buffer.byteLength < base + PAGE_SIZE) throw incompatible(`the memory (${buffer.byteLength} bytes) ends before base ${base} + one page`);
    const words = new Uint32Array(buffer, base, PAGE_MAP_OFFSET / 4);
    if (words[HDR_MAGIC] !== MEMORY_MAGIC) throw incompatible(`no tsmalloc memory header at ${formatAddress(base)}`);
    if (words[HDR_VERSION] !== MEMORY_VERSION) throw incompatible(`header version ${words[HDR_VERSION]} at ${formatAddress(base)}, this build reads version ${MEMORY_VERSION}`);
    const maxPages = words[HDR_MAX_PAGES]!;
    const committed = Atomics.load(words, HDR_COMMITTED_PAGES);
    if (words[HDR_BASE_PAGE] !== base / PAGE_SIZE || maxPages > MAX_PAGES || maxPages === 0 || words[HDR_HEADER_PAGES] !== headerPagesFor(maxPages)) {
      throw incompatible(`the header at ${formatAddress(base)} is damaged`);
    }
    // Another worker may have grown a shared memory since `buffer` was read. It grows the memory
    // before it stores the count (#growTo), so the memory's size read after the count covers it.
    const holds = (isBuffer(source) ? source : source.buffer).byteLength;
    if (Math.floor(holds / PAGE_SIZE) < Math.min(committed, maxPages)) {
      throw incompatible(`the header describes ${committed * PAGE_SIZE} bytes but the memory holds ${holds}`);
    }
    const attached: AttachedOptions = { [ATTACHED]: { source, base, maxPages, fresh: false } };
    return new LinearMemory(attached);
  }

  // ---------------------------------------------------------------------------------------------
  // Backing store and views

/** The `WebAssembly.Memory` or buffer this memory is built on: post it to a worker and call
   * {@link LinearMemory.attach} there. */
  get source(): MemorySource {
    return this.#source;
  }

/** The current ArrayBuffer or SharedArrayBuffer (replaced when a WebAssembly.Memory grows). */
  get buffer(): ArrayBuffer | SharedArrayBuffer {
    this.#sync();
    return this.#buffer;
  }

/** True when the memory is a SharedArrayBuffer that several workers may use at once. */
  get shared(): boolean {
    return this.#shared;
  }

/** Where tsmalloc's address space (and the header) starts. */
  get base(): number {
    return this.#regions.base;
  }

/** Bytes the memory holds now, in whole pages. */
  get byteLength(): number {
    this.#sync();
    return this.#viewPages * PAGE_SIZE;
  }

/** Bytes the memory may grow to. */
  get maxByteLength(): number {
    return this.#regions.maxPages * PAGE_SIZE;
  }

/** Bytes of the header at `base` (fields, roots, page map), a whole number of pages. */
  get headerBytes(): number {
    return this.#regions.headerPages * PAGE_SIZE;
  }

/** Bytes of the memory. Fetch it again after anything that may grow the memory. */
  get u8(): Uint8Array {
    if (this.#syncMode !== SYNC_NEVER) this.#sync();
    return this.#u8;
  }

/** 16-bit words of the memory (index = address / 2). */
  get u16(): Uint16Array {
    if (this.#syncMode !== SYNC_NEVER) this.#sync();
    return this.#u16;
  }

/** Signed 32-bit words of the memory (index = address / 4); the view for `Atomics`. */
  get i32(): Int32Array {
    if (this.#syncMode !== SYNC_NEVER) this.#sync();
    return this.#i32;
  }

/** Unsigned 32-bit words of the memory (index = address / 4). */
  get u32(): Uint32Array {
    if (this.#syncMode !== SYNC_NEVER) this.#sync();
    return this.#u32;
  }

/** 64-bit floats of the memory (index = address / 8). */
  get f64(): Float64Array {
    if (this.#syncMode !== SYNC_NEVER) this.#sync();
    return this.#f64;
  }

/** A DataView of the whole memory, for unaligned and big-endian access. */
  get dataView(): DataView {
    if (this.#syncMode !== SYNC_NEVER) this.#sync();
    return this.#dataView;
  }

/**
   * Re-reads the backing store's size and refreshes the views. tsmalloc notices its own growth
   * by itself; call this after code outside tsmalloc (a WASM module's `memory.grow`, a
   * `buffer.grow()` or `resize()` of your own) grew a shared memory or a resizable buffer.
   */
  sync(): void {
    this.#refreshViews();
  }

/**
   * Grows the memory by `deltaBytes` (rounded up to whole pages). Regions do this by themselves;
   * call it to reserve room ahead of time.
   *
   * @returns true when the memory now holds the extra bytes, false when it cannot grow that far
   *   (a fixed-size buffer, the maximum, or the platform refused)
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_SIZE` when `deltaBytes` is not a
   *   non-negative integer
   */
  grow(deltaBytes: number): boolean {
    requireSize(deltaBytes, "LinearMemory.grow", "deltaBytes");
    return this.#regions.grow(Math.ceil(deltaBytes / PAGE_SIZE));
  }

  // ---------------------------------------------------------------------------------------------
  // The region allocator: tsmalloc's mmap (internal/region-allocator.ts)

/**
   * Maps a region of at least `size` bytes (rounded up to whole 64 KiB pages) at the lowest
   * address that is free and aligned, growing the memory when no free range below its end fits.
   * The region's bytes are all zero, as with `mmap`. Safe to call from several workers at once on
   * a shared memory.
   *
   * @returns the region's address, or 0 when no such range can be had (the memory cannot grow
   *   far enough); nothing changes then
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_SIZE` when `size` is not a positive
   *   integer; `ERR_TSMALLOC_INVALID_ALIGNMENT` when the alignment is not a power of two;
   *   `ERR_TSMALLOC_INVALID_OPTION` when the owner is not in 3..63
   */
  map(size: number, options?: MapOptions): number {
    requireSize(size, "LinearMemory.map");
    if (size === 0) throw new TsmallocError(ErrorCode.InvalidSize, "LinearMemory.map: size must be at least 1 byte, got 0");
    const alignment = options?.alignment === undefined ? PAGE_SIZE : options.alignment;
    const owner = options?.owner === undefined ? RegionOwner.User : options.owner;
    if (!isPowerOfTwo(alignment)) {
      throw new TsmallocError(ErrorCode.InvalidAlignment, `LinearMemory.map: alignment must be a power of two below 2^32, got ${describeValue(alignment)}`);
    }
    checkOwner(owner, "LinearMemory.map");
    if (size > this.#regions.maxPages * PAGE_SIZE) return 0;
    const pages = Math.ceil(size / PAGE_SIZE);
    const alignPages = alignment > PAGE_SIZE ? alignment / PAGE_SIZE : 1;
    return this.#regions.map(pages, alignPages, owner);
  }

/**
   * Unmaps the region that starts at `address`, so that its pages can serve anyone else
   * (tsmalloc's munmap). The pages are cleared before they are mapped again.
   *
   * @returns the number of bytes unmapped
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_POINTER` when `address` is not the start
   *   of a mapped region, or is the memory's header or the host's pages; nothing changes then
   */
  unmap(address: number): number {
    const regions = this.#regions;
    return regions.unmap(regions.requireRegionStart(address, "LinearMemory.unmap"), "LinearMemory.unmap");
  }

/**
   * Resizes the region that starts at `address` in place (mremap without moving): shrinking frees
   * its tail pages; growing takes the free pages right after it, growing the memory if needed.
   *
   * @returns true when the region now has `size` bytes (rounded up to pages), false when it cannot
   *   grow in place (the pages after it are taken, or the memory cannot grow); nothing changes then
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_POINTER` as {@link LinearMemory.unmap};
   *   `ERR_TSMALLOC_INVALID_SIZE` when `size` is not a positive integer
   */
  remap(address: number, size: number): boolean {
    const regions = this.#regions;
    const start = regions.requireRegionStart(address, "LinearMemory.remap");
    requireSize(size, "LinearMemory.remap");
    if (size === 0) throw new TsmallocError(ErrorCode.InvalidSize, "LinearMemory.remap: size must be at least 1 byte, got 0 (use unmap)");
    if (size > regions.maxPages * PAGE_SIZE) return false;
    return regions.remap(start, Math.ceil(size / PAGE_SIZE), "LinearMemory.remap");
  }

/**
   * The region that holds `address`, or null when the address is in no mapped region (or outside
   * the memory). The memory's header and the host's pages are regions too. Never throws for a
   * number; O(pages of the region).
   */
  regionAt(address: number): Region | null {
    if (!isAddress(address)) return null;
    const page = Math.floor(address / PAGE_SIZE);
    if (page >= this.#regions.maxPages) return null;
    return this.#regions.regionAt(page);
  }

/**
   * The owner of the page that holds `address` (a {@link RegionOwner} value), or 0 when the page
   * is not mapped or the address is outside the memory. O(1), takes no lock: allocators use it to
   * refuse pointers into pages that are not theirs.
   */
  pageOwner(address: number): number {
    const regions = this.#regions;
    if (!(address >= 0 && address < regions.maxPages * PAGE_SIZE)) return 0;
    return this.u8[regions.mapAt + (address >>> 16)]! & PAGE_OWNER_MASK;
  }

/**
   * Byte offset of the page map in the memory: one byte per 64 KiB page of the address space
   * (index = address >>> 16), whose low six bits are the owner of a mapped page (0 when free).
   * Read it through {@link LinearMemory.u8} for an owner check without a call, as allocators do on
   * their hot paths; never write it.
   */
  get pageMapOffset(): number {
    return this.#regions.mapAt;
  }

/** Every mapped region in address order, the header's and the host's included. */
  regions(): Region[] {
    return this.#regions.regions();
  }

/** The address space in numbers. */
  stats(): MemoryStats {
    return this.#regions.stats();
  }

/** Changes whenever a region is mapped, unmapped or resized (cheap: a load or two, no lock). */
  get generation(): number {
    return this.u32[this.#regions.baseWord + HDR_GENERATION]!;
  }

  // ---------------------------------------------------------------------------------------------
  // Roots: where allocators record their headers so that attach() finds them (internal/root-table.ts)

/**
   * Records `address` under `tag` (1 to 4 ASCII characters) in the header's root table, replacing
   * an earlier address with the same tag. Allocators record their heap headers here, so that
   * `attach()` in another worker, or on a saved buffer, finds them.
   *
   * @returns false when the table (24 slots) is full
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` for a bad tag;
   *   `ERR_TSMALLOC_INVALID_POINTER` for an address that is not an integer in [0, 2^32)
   */
  setRoot(tag: string, address: number): boolean {
    const word = encodeTag(tag);
    requireAddress(address, "LinearMemory.setRoot", "address");
    return setRoot(this.#regions, word, address);
  }

/**
   * Records `address` under `tag` unless the tag has an address already, in one step under the
   * region lock: how workers that race to create one shared structure agree on a single one (each
   * maps its own, the loser unmaps it and uses the winner's).
   *
   * @returns the address `tag` has afterwards: `address`, or the one recorded before; 0 when the
   *   tag had none and the table (24 slots) is full
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` for a bad tag;
   *   `ERR_TSMALLOC_INVALID_POINTER` for an address that is not an integer in (0, 2^32)
   */
  setRootIfAbsent(tag: string, address: number): number {
    const word = encodeTag(tag);
    requireAddress(address, "LinearMemory.setRootIfAbsent", "address");
    if (address === 0) throw new TsmallocError(ErrorCode.InvalidPointer, "LinearMemory.setRootIfAbsent: address must not be 0 (0 means no address)");
    return setRootIfAbsent(this.#regions, word, address);
  }

/**
   * The address recorded under `tag`, or 0 when there is none.
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` for a bad tag
   */
  getRoot(tag: string): number {
    const word = encodeTag(tag);
    return getRoot(this.u32, this.#regions.baseWord, word);
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers on blocks (internal/block-helpers.ts)

/**
   * A typed-array view of `length` elements at `address`, e.g. `memory.view(Float64Array, p, 4)`.
   * The view shares the memory's bytes; like every view it goes stale when a non-shared
   * WebAssembly.Memory grows, so take it again after allocating.
   *
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_POINTER` when `address` is not aligned to
   *   the element size or the range leaves the memory; `ERR_TSMALLOC_INVALID_SIZE` for a bad length
   */
  view<T>(type: TypedArrayConstructorOf<T>, address: number, length: number): T {
    return viewOf(this, type, address, length);
  }

/**
   * The `length` bytes at `address` as a Uint8Array that shares the memory (a subarray).
   * @throws {@link TsmallocError} as {@link LinearMemory.view}
   */
  bytes(address: number, length: number): Uint8Array {
    return bytesOf(this, address, length);
  }

/**
   * Sets `length` bytes at `address` to `value` (0..255), like C's memset.
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_POINTER` when the range leaves the memory;
   *   `ERR_TSMALLOC_INVALID_SIZE` for a bad length or a value outside 0..255
   */
  fill(address: number, value: number, length: number): void {
    fillBytes(this, address, value, length);
  }

/**
   * Copies `length` bytes from `source` to `target`; the ranges may overlap (C's memmove).
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_POINTER` when either range leaves the
   *   memory; `ERR_TSMALLOC_INVALID_SIZE` for a bad length
   */
  copy(target: number, source: number, length: number): void {
    copyBytes(this, target, source, length);
  }

  // ---------------------------------------------------------------------------------------------
  // Internals

  /**
   * What the region allocator reaches of this memory (internal/region-allocator.ts): the current
   * views and the backing store's growth, through members that read this instance's private state.
   */
  #backingAccess(): Backing {
    return {
      shared: this.#shared,
      u8: () => this.#u8,
      i32: () => this.#i32,
      u32: () => this.#u32,
      viewPages: () => this.#viewPages,
      sync: () => {
        if (this.#syncMode !== SYNC_NEVER) this.#sync();
      },
      committedPages: () => this.#committedPages(),
      growTo: (pages) => this.#growTo(pages),
    };
  }

  #currentBuffer(): ArrayBuffer | SharedArrayBuffer {
    return this.#wasm === null ? (this.#source as ArrayBuffer | SharedArrayBuffer) : this.#wasm.buffer;
  }

  #refreshViews(): void {
    const buffer = this.#currentBuffer();
    this.#buffer = buffer;
    const pages = Math.min(this.#maxPages, Math.floor(buffer.byteLength / PAGE_SIZE));
    this.#viewPages = pages;
    // Fixed-length views, also over resizable and growable buffers: V8's length-tracking views
    // cost much more per access (a growable SharedArrayBuffer's, several times more), and growth
    // is rare, so the views are made again when it happens (see #sync).
    const bytes = pages * PAGE_SIZE;
    this.#u8 = new Uint8Array(buffer, 0, bytes);
    this.#u16 = new Uint16Array(buffer, 0, bytes >>> 1);
    this.#i32 = new Int32Array(buffer, 0, bytes >>> 2);
    this.#u32 = new Uint32Array(buffer, 0, bytes >>> 2);
    this.#f64 = new Float64Array(buffer, 0, bytes >>> 3);
    this.#dataView = new DataView(buffer, 0, bytes);
  }

  /**
   * Refreshes the views when the memory grew since they were made. A non-shared
   * WebAssembly.Memory detaches its buffer when it grows, which shows as length 0. Every other
   * growable memory records its size in the header when it grows (#growTo): another worker's
   * growth of a shared memory, or another instance's of the same buffer, shows there.
   */
  #sync(): void {
    // Kept tiny so that V8 inlines it into every view getter and their callers' hot paths.
    // (`length`, unlike `byteLength`, is inlined by V8.)
    if (this.#syncMode === SYNC_DETACHED) {
      if (this.#u8.length === 0) this.#refreshViews();
    } else if (this.#syncMode === SYNC_HEADER) {
      this.#syncFromHeader();
    }
  }

  /**
   * Growth of a resizable or growable buffer shows in the header's committed-page count. On a
   * shared memory this is a plain load, not an Atomics.load (which costs V8 a call per getter):
   * JavaScript defines racy reads of a SharedArrayBuffer (an aligned 32-bit load never tears, it
   * returns some value written), and growth that matters to the reader is ordered before it. A
   * worker that uses an address another worker's growth made has received it through something
   * that synchronizes (postMessage, an Atomics operation, the heap's own lock or remote-free list),
   * so the grower's Atomics.store of the count (#growTo, under the region lock) happens before
   * this load, which then sees it (or a later count).
   */
  #syncFromHeader(): void {
    if (this.#u32[this.#committedWord]! > this.#viewPages) this.#refreshViews();
  }

  /** Pages the backing store holds now (read from the store itself, not from the header). */
  #committedPages(): number {
    const buffer = this.#currentBuffer();
    if (buffer !== this.#buffer || buffer.byteLength < this.#viewPages * PAGE_SIZE) this.#refreshViews();
    return Math.min(this.#maxPages, Math.floor(buffer.byteLength / PAGE_SIZE));
  }

  /** Grows the backing store to `pages` pages. Caller holds the region lock. */
  #growTo(pages: number): boolean {
    const have = this.#committedPages();
    if (have < pages) {
      if (pages > this.#maxPages) return false;
      try {
        switch (this.#kind) {
          case KIND_WASM:
          case KIND_SHARED_WASM:
            this.#wasm!.grow(pages - Math.floor(this.#wasm!.buffer.byteLength / PAGE_SIZE));
            break;
          case KIND_RESIZABLE:
            (this.#source as ArrayBuffer).resize(pages * PAGE_SIZE);
            break;
          case KIND_GROWABLE_SHARED:
            (this.#source as SharedArrayBuffer).grow(pages * PAGE_SIZE);
            break;
          default:
            return false;
        }
      } catch {
        return false;
      }
    }
    this.#refreshViews();
    const index = this.#committedWord;
    if (this.#viewPages > this.#u32[index]!) {
      if (this.#shared) Atomics.store(this.#i32, index, this.#viewPages);
      else this.#u32[index] = this.#viewPages;
    }
    return this.#viewPages >= pages;
  }
}

function checkOwner(owner: unknown, fn: string): void {
  if (!(typeof owner === "number" && Number.isInteger(owner) && owner >= RegionOwner.Malloc && owner <= MAX_REGION_OWNER)) {
    throw optionError(`${fn}: owner must be an integer in ${RegionOwner.Malloc}..${MAX_REGION_OWNER} (a RegionOwner), got ${describeValue(owner)}`);
  }
}

function kindOf(source: MemorySource): Kind {
  if (!isBuffer(source)) return isSharedBuffer(source.buffer) ? KIND_SHARED_WASM : KIND_WASM;
  if (isSharedBuffer(source)) return source.growable ? KIND_GROWABLE_SHARED : KIND_FIXED;
  return source.resizable ? KIND_RESIZABLE : KIND_FIXED;
}
