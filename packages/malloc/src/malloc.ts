import {
  type Allocator,
  checkOversize,
  describeValue,
  ErrorCode,
  formatAddress,
  type HeapCheck,
  isAddress,
  isPowerOfTwo,
  LinearMemory,
  lockMutex,
  MAX_MEMORY_BYTES,
  PAGE_SIZE,
  RegionOwner,
  requireAddress,
  TsmallocError,
  unlockMutex,
} from "@tsmalloc/memory";
import { checkHeap } from "./check.ts";
import { diagnosePointer } from "./diagnose.ts";
import { Heap, KIND_BLOCK, KIND_LARGE, roundUpPages } from "./heap.ts";
import {
  ALIGNMENT,
  H_LOCK,
  H_MAGIC,
  H_VERSION,
  HEAP_MAGIC,
  HEAP_VERSION,
  LARGE_HEAP,
  LARGE_MAGIC,
  ROOT_TAG,
  SEG_HEAP,
  SEGMENT_MAGIC,
} from "./layout.ts";
import { heapStats, type MallocStats } from "./stats.ts";

/** Options of {@link Malloc}'s constructor. */
export interface MallocOptions {
  /**
   * Requests of at least this many bytes get a region of their own, unmapped when freed (glibc's
   * mmap threshold). Between 4 KiB and 256 MiB.
   * @defaultValue 1 MiB
   */
  readonly mmapThreshold?: number;
  /**
   * Bytes of the first segment, and the least a heap grows by (rounded up to 64 KiB pages).
   * Between 64 KiB and 256 MiB.
   * @defaultValue 256 KiB
   */
  readonly segmentSize?: number;
  /**
   * Record the heap in the memory's root table, so that {@link Malloc.attach} finds it without an
   * address. By default a heap is recorded when the memory has no recorded heap yet.
   */
  readonly register?: boolean;
}

/** Default of {@link MallocOptions.mmapThreshold}. */
export const DEFAULT_MMAP_THRESHOLD: number = 1 << 20;
/** Default of {@link MallocOptions.segmentSize}. */
export const DEFAULT_SEGMENT_SIZE: number = 256 << 10;
/** The largest alignment {@link Malloc.memalign} accepts (1 GiB). */
export const MAX_ALIGNMENT: number = 1 << 30;

function optionError(message: string): TsmallocError {
  return new TsmallocError(ErrorCode.InvalidOption, `Malloc: ${message}`);
}

function optionBytes(value: unknown, name: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (!(typeof value === "number" && Number.isInteger(value) && value >= min && value <= max)) {
    throw optionError(`${name} must be an integer number of bytes in [${min}, ${max}], got ${describeValue(value)}`);
  }
  return value;
}

/**
 * The key under which attach() hands the constructor the heap it opened. Only this module can
 * name it, so a caller's options never carry it.
 */
const ATTACHED: unique symbol = Symbol("Malloc.attach");

/** The constructor's options as attach() passes them. */
interface AttachedOptions extends MallocOptions {
  readonly [ATTACHED]: Heap;
}

/** The heap attach() put into `options`, or undefined for a caller's options. */
function attachedHeap(options: unknown): Heap | undefined {
  return typeof options === "object" && options !== null ? (options as Partial<AttachedOptions>)[ATTACHED] : undefined;
}

/**
 * tsmalloc's system allocator, CPython's "malloc": general purpose, any size, the RAW domain's
 * default and the home of pymalloc's large requests.
 *
 * A TLSF heap (two-level segregated fit): malloc and free take O(1) time whatever the heap holds,
 * neighbours coalesce at once, blocks are 16-byte aligned with an 8-byte header. The heap is made
 * of segments mapped from the memory's region allocator; requests of `mmapThreshold` bytes or more
 * get a region each. All state lives in the memory, so {@link Malloc.attach} can open the heap in
 * another worker or from a saved buffer.
 *
 * CPython's raw semantics: `malloc(0)` is `malloc(1)`; `calloc` with a zero count or size is
 * `calloc(1, 1)`; `realloc(p, 0)` is `realloc(p, 1)` and frees nothing.
 *
 * On a shared memory every call takes the heap's lock (a futex-style mutex in the heap header),
 * so any number of workers can use one heap at once; on a non-shared memory no lock is taken.
 *
 * Detected in O(1) on every free/realloc/usableSize: pointers that are not numbers, misaligned,
 * outside the memory, not at the start of a live block of this heap (interior pointers, other
 * heaps' blocks, pymalloc's), and blocks already freed. Each throws a {@link TsmallocError}
 * before anything changes.
 *
 * @example
 * ```ts
 * const heap = new Malloc();              // on a new growable WebAssembly.Memory
 * const p = heap.malloc(100);
 * heap.memory.u8.fill(7, p, p + 100);
 * const q = heap.realloc(p, 10_000);      // keeps the 100 bytes
 * heap.free(q);
 * ```
 */
export class Malloc implements Allocator {
  /** The configuration name, as CPython's PYTHONMALLOC spells it. */
  readonly name: string = "malloc";
  /** The memory the heap lives in. */
  readonly memory: LinearMemory;
  readonly #heap: Heap;
  readonly #shared: boolean;
  readonly #lockWords: Int32Array;
  readonly #lockIndex: number;

  /**
   * Creates a heap in `memory` (a new growable WebAssembly.Memory when omitted), mapping its first
   * segment.
   *
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` for a bad option;
   *   `ERR_TSMALLOC_OUT_OF_MEMORY` when the memory cannot hold the first segment
   */
  constructor(memory?: LinearMemory, options: MallocOptions = {}) {
    const attached = attachedHeap(options);
    if (attached !== undefined) {
      this.memory = attached.memory;
      this.#heap = attached;
    } else {
      if (memory !== undefined && !(memory instanceof LinearMemory)) {
        throw optionError(`memory must be a LinearMemory, got ${describeValue(memory)}`);
      }
      if (typeof options !== "object" || options === null) {
        throw optionError(`options must be an object, got ${describeValue(options)}`);
      }
      const mmapThreshold = optionBytes(options.mmapThreshold, "mmapThreshold", 4096, 1 << 28, DEFAULT_MMAP_THRESHOLD);
      const segmentSize = roundUpPages(optionBytes(options.segmentSize, "segmentSize", PAGE_SIZE, 1 << 28, DEFAULT_SEGMENT_SIZE));
      if (options.register !== undefined && typeof options.register !== "boolean") {
        throw optionError(`register must be a boolean, got ${describeValue(options.register)}`);
      }
      this.memory = memory ?? new LinearMemory();
      const heap = Heap.create(this.memory, { mmapThreshold, segmentSize });
      if (heap === null) {
        throw new TsmallocError(ErrorCode.OutOfMemory, `Malloc: the memory cannot map the heap's first segment (${segmentSize} bytes)`);
      }
      this.#heap = heap;
      if (options.register ?? this.memory.getRoot(ROOT_TAG) === 0) this.memory.setRoot(ROOT_TAG, heap.address);
    }
    this.#shared = this.memory.shared;
    this.#lockWords = this.memory.i32;
    this.#lockIndex = this.#heap.hw + H_LOCK;
  }

  /**
   * Opens a heap that a {@link Malloc} created in `memory` earlier: from another worker on a
   * shared memory, or in a buffer saved and loaded again. Without `address` it opens the heap
   * recorded in the memory's root table.
   *
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INCOMPATIBLE` when there is no malloc heap at
   *   `address` (or none is recorded), or it has another layout version
   */
  static attach(memory: LinearMemory, address?: number): Malloc {
    if (!(memory instanceof LinearMemory)) throw optionError(`attach: memory must be a LinearMemory, got ${describeValue(memory)}`);
    const at = address ?? memory.getRoot(ROOT_TAG);
    const incompatible = (why: string): TsmallocError =>
      new TsmallocError(ErrorCode.Incompatible, `Malloc.attach: ${why}`, { address: at });
    if (at === 0) throw incompatible("no malloc heap is recorded in this memory");
    if (!isAddress(at) || at % PAGE_SIZE !== 32 || at + 4096 > memory.byteLength) throw incompatible(`${describeValue(at)} is not a heap address`);
    const u32 = memory.u32;
    const hw = at >>> 2;
    if (memory.pageOwner(at) !== RegionOwner.Malloc || u32[hw + H_MAGIC] !== HEAP_MAGIC) throw incompatible(`no malloc heap at ${formatAddress(at)}`);
    if (u32[hw + H_VERSION] !== HEAP_VERSION) throw incompatible(`heap at ${formatAddress(at)} has layout version ${u32[hw + H_VERSION]}, this build reads ${HEAP_VERSION}`);
    const attached: AttachedOptions = { [ATTACHED]: new Heap(memory, at) };
    return new Malloc(memory, attached);
  }

  /** Address of the heap header: what {@link Malloc.attach} takes. */
  get address(): number {
    return this.#heap.address;
  }

  /** Requests of this many bytes or more get a region of their own. */
  get mmapThreshold(): number {
    return this.#heap.mmapThreshold;
  }

  /**
   * Allocates `size` bytes, 16-byte aligned. `malloc(0)` allocates 1 byte.
   *
   * @returns the block's address, or 0 when the memory cannot provide it
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_SIZE` unless `size` is a non-negative integer
   */
  malloc(size: number): number {
    if (typeof size !== "number" || (size >>> 0) !== size) {
      checkOversize(size, "malloc");
      return 0;
    }
    if (this.#shared) return this.#mallocLocked(size === 0 ? 1 : size);
    const heap = this.#heap;
    heap.sync();
    return heap.malloc(size === 0 ? 1 : size);
  }

  #mallocLocked(n: number): number {
    lockMutex(this.#lockWords, this.#lockIndex);
    try {
      this.#heap.sync();
      return this.#heap.malloc(n);
    } finally {
      unlockMutex(this.#lockWords, this.#lockIndex);
    }
  }

  /**
   * Allocates `nelem * elsize` bytes, all zero. A zero count or size allocates 1 byte.
   *
   * @returns the block's address, or 0 when the product is too large or the memory cannot
   *   provide it
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_SIZE` unless both are non-negative integers
   */
  calloc(nelem: number, elsize: number): number {
    if (typeof nelem !== "number" || (nelem >>> 0) !== nelem) checkOversize(nelem, "calloc", "nelem");
    if (typeof elsize !== "number" || (elsize >>> 0) !== elsize) checkOversize(elsize, "calloc", "elsize");
    const n = nelem === 0 || elsize === 0 ? 1 : nelem * elsize;
    if (n > MAX_MEMORY_BYTES) return 0;
    const heap = this.#heap;
    if (this.#shared) lockMutex(this.#lockWords, this.#lockIndex);
    try {
      heap.sync();
      const p = heap.malloc(n);
      // large blocks are fresh regions, which the region allocator hands out zeroed
      if (p !== 0 && n < heap.mmapThreshold) this.memory.u8.fill(0, p, p + n);
      return p;
    } finally {
      if (this.#shared) unlockMutex(this.#lockWords, this.#lockIndex);
    }
  }

  /**
   * Resizes the block at `ptr` to `size` bytes, in place when it can (shrinking splits the block,
   * growing takes a free neighbour), else by moving it. `ptr` 0 is `malloc(size)`; `size` 0 is
   * `size` 1 (the block is not freed).
   *
   * @returns the block's address, or 0 when the memory cannot provide it; the old block is then
   *   untouched and still allocated
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_SIZE` for a bad size;
   *   `ERR_TSMALLOC_INVALID_POINTER` / `ERR_TSMALLOC_DOUBLE_FREE` for a pointer that is not a
   *   live block of this heap (nothing changes then)
   */
  realloc(ptr: number, size: number): number {
    if (typeof ptr !== "number" || (ptr >>> 0) !== ptr) requireAddress(ptr, "realloc");
    let n = size;
    if (typeof size !== "number" || (size >>> 0) !== size) {
      checkOversize(size, "realloc");
      n = MAX_MEMORY_BYTES + 1;
    }
    if (ptr === 0) return n > MAX_MEMORY_BYTES ? 0 : this.malloc(n);
    if (n === 0) n = 1;
    const heap = this.#heap;
    if (this.#shared) lockMutex(this.#lockWords, this.#lockIndex);
    try {
      heap.sync();
      const kind = heap.validate(ptr);
      if (kind === KIND_BLOCK) return n > MAX_MEMORY_BYTES ? 0 : heap.realloc(ptr, n);
      if (kind === KIND_LARGE) return n > MAX_MEMORY_BYTES ? 0 : heap.largeRealloc(ptr, n);
      throw diagnosePointer(heap, ptr, "realloc");
    } finally {
      if (this.#shared) unlockMutex(this.#lockWords, this.#lockIndex);
    }
  }

  /**
   * Frees the block at `ptr`. 0 is a no-op.
   *
   * @throws {@link TsmallocError} `ERR_TSMALLOC_DOUBLE_FREE` for a block freed already;
   *   `ERR_TSMALLOC_INVALID_POINTER` for anything else that is not a live block of this heap
   *   (misaligned, outside the memory, inside a block, another allocator's); nothing changes then
   */
  free(ptr: number): void {
    if (ptr === 0) return;
    if (typeof ptr !== "number" || (ptr >>> 0) !== ptr) requireAddress(ptr, "free");
    if (this.#shared) this.#freeLocked(ptr);
    else this.#free(ptr);
  }

  /** free() without the lock; the hot path is kept small so that V8 inlines it. */
  #free(ptr: number): void {
    const heap = this.#heap;
    heap.sync();
    const kind = heap.validate(ptr);
    if (kind === KIND_BLOCK) heap.free(ptr);
    else if (kind === KIND_LARGE) heap.largeFree(ptr);
    else throw diagnosePointer(heap, ptr, "free");
  }

  #freeLocked(ptr: number): void {
    lockMutex(this.#lockWords, this.#lockIndex);
    try {
      this.#free(ptr);
    } finally {
      unlockMutex(this.#lockWords, this.#lockIndex);
    }
  }

  /**
   * Allocates `size` bytes at an address that is a multiple of `alignment` (C's
   * `posix_memalign` / `aligned_alloc`). The block is freed and resized as any other.
   *
   * @returns the block's address, or 0 when the memory cannot provide it
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_ALIGNMENT` unless `alignment` is a power
   *   of two up to 1 GiB; `ERR_TSMALLOC_INVALID_SIZE` for a bad size
   */
  memalign(alignment: number, size: number): number {
    if (!isPowerOfTwo(alignment) || alignment > MAX_ALIGNMENT) {
      throw new TsmallocError(ErrorCode.InvalidAlignment, `memalign: alignment must be a power of two up to 2^30, got ${describeValue(alignment)}`);
    }
    if (typeof size !== "number" || (size >>> 0) !== size) {
      checkOversize(size, "memalign");
      return 0;
    }
    if (alignment <= ALIGNMENT) return this.malloc(size);
    const n = size === 0 ? 1 : size;
    if (n + alignment > MAX_MEMORY_BYTES) return 0;
    const heap = this.#heap;
    if (this.#shared) lockMutex(this.#lockWords, this.#lockIndex);
    try {
      heap.sync();
      return heap.memalign(alignment, n);
    } finally {
      if (this.#shared) unlockMutex(this.#lockWords, this.#lockIndex);
    }
  }

  /**
   * Bytes the block at `ptr` can hold: at least what was asked for, up to 15 more (or the rest
   * of its pages for a large block).
   *
   * @throws {@link TsmallocError} as {@link Malloc.free} for a pointer that is not a live block
   */
  usableSize(ptr: number): number {
    if (typeof ptr !== "number" || (ptr >>> 0) !== ptr) requireAddress(ptr, "usableSize");
    const heap = this.#heap;
    if (this.#shared) lockMutex(this.#lockWords, this.#lockIndex);
    try {
      heap.sync();
      const kind = heap.validate(ptr);
      if (kind === KIND_BLOCK || kind === KIND_LARGE) return heap.usableSize(ptr, kind);
      throw diagnosePointer(heap, ptr, "usableSize");
    } finally {
      if (this.#shared) unlockMutex(this.#lockWords, this.#lockIndex);
    }
  }

  /**
   * True when `ptr` lies in a segment or large-block region of this heap (a block, free space or
   * a header). Never throws; takes time linear in the region's pages.
   */
  owns(ptr: number): boolean {
    if (!isAddress(ptr)) return false;
    const owner = this.memory.pageOwner(ptr);
    if (owner !== RegionOwner.Malloc && owner !== RegionOwner.MallocLarge) return false;
    const region = this.memory.regionAt(ptr);
    if (region === null) return false;
    const u32 = this.memory.u32;
    const r = region.address >>> 2;
    return owner === RegionOwner.Malloc
      ? u32[r] === SEGMENT_MAGIC && u32[r + SEG_HEAP] === this.#heap.address
      : u32[r] === LARGE_MAGIC && u32[r + LARGE_HEAP] === this.#heap.address;
  }

  /**
   * Validates every invariant of the heap (segments, blocks, boundary tags, free lists, bitmaps,
   * counters, large blocks, agreement with the memory's page map). Linear in the heap's size.
   *
   * @returns every problem found; `ok` is true when there is none
   */
  check(): HeapCheck {
    if (this.#shared) lockMutex(this.#lockWords, this.#lockIndex);
    try {
      return checkHeap(this.#heap);
    } finally {
      if (this.#shared) unlockMutex(this.#lockWords, this.#lockIndex);
    }
  }

  /** Numbers about the heap: live and free blocks and bytes, the largest free block, regions. */
  stats(): MallocStats {
    if (this.#shared) lockMutex(this.#lockWords, this.#lockIndex);
    try {
      return heapStats(this.#heap);
    } finally {
      if (this.#shared) unlockMutex(this.#lockWords, this.#lockIndex);
    }
  }
}
