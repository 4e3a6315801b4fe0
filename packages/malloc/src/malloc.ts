import {
  type Allocator,
  checkOversize,
  describeValue,
  ErrorCode,
  formatAddress,
  type HeapCheck,
  HeapKind,
  type HeapSlot,
  HeapSlots,
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
import { Heap, KIND_BLOCK, KIND_LARGE, NOT_A_BLOCK, roundUpPages } from "./heap.ts";
import {
  ALIGNMENT,
  H_INBOX,
  H_LOCK,
  H_MAGIC,
  H_SLOT,
  H_SLOTS,
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
  /**
   * Make the heap of a heap slot (free-threading): `table` is the memory's {@link HeapSlots},
   * `slot` a slot the calling thread holds and that has no malloc heap yet. Such a heap takes no
   * lock and no atomic read-modify-write for its own blocks; any thread may free or resize its
   * blocks through its own slot's heap (see {@link Malloc}). `@tsmalloc/registry`'s
   * `createRuntime({ freeThreading: true })` makes these; the heap is recorded in the table,
   * not in the root table (`register` must not be true).
   */
  readonly heapSlot?: HeapSlot;
  /**
   * Called before the heap asks the memory for more pages: a new or longer segment, or a large
   * block's region. A free-threaded runtime lets abandoned heaps give back what they no longer
   * hold there. It must not call this heap.
   */
  readonly beforeMap?: ((heap: Malloc) => void) | undefined;
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
 * Free-threading (option `heapSlot`): each thread has a heap of its own in the shared memory, and
 * takes no lock. `free(p)` of the caller's own block frees it at once, with no atomic operation;
 * for any other pointer it reads the slot of `p`'s page in the {@link HeapSlots} table, and
 * another slot's block is checked,
 * marked as pending and pushed onto its heap's remote-free list with one compareExchange, and its
 * owner frees the whole list (taken with one exchange) when it next runs out of free blocks, before
 * it maps more pages: a batch at a time, as pymalloc drains before it takes a new pool. `realloc` of another
 * slot's block allocates here, copies and gives the old block back to its owner the same way.
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
  /** Every call takes the heap's lock: a shared memory, and no heap slot. */
  readonly #locked: boolean;
  readonly #lockWords: Int32Array;
  readonly #lockIndex: number;
  /** The heap slot's number (free-threading), 0 for none. */
  readonly #slot: number;
  /** The slot table, for the heaps of other slots; null without a slot. */
  readonly #slots: HeapSlots | null;
  /** Byte offset of the slot table's page table. */
  readonly #pageSlots: number;
  /** Word index of this heap's remote-free list. */
  readonly #inbox: number;
  /** The heaps of other slots, by slot, opened on the first free into each. */
  readonly #remote: (Heap | null)[];

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
      if (options.beforeMap !== undefined && typeof options.beforeMap !== "function") {
        throw optionError(`beforeMap must be a function, got ${describeValue(options.beforeMap)}`);
      }
      this.memory = memory ?? new LinearMemory();
      const slot = options.heapSlot === undefined ? null : requireHeapSlot(options.heapSlot, this.memory, options.register);
      const heap = Heap.create(this.memory, { mmapThreshold, segmentSize }, slot);
      if (heap === null) {
        throw new TsmallocError(ErrorCode.OutOfMemory, `Malloc: the memory cannot map the heap's first segment (${segmentSize} bytes)`);
      }
      this.#heap = heap;
      if (slot !== null) slot.table.setHeap(slot.slot, HeapKind.Malloc, heap.address);
      else if (options.register ?? this.memory.getRoot(ROOT_TAG) === 0) this.memory.setRoot(ROOT_TAG, heap.address);
    }
    const heap = this.#heap;
    const beforeMap = options.beforeMap;
    if (typeof beforeMap === "function") heap.beforeMap = () => beforeMap(this);
    this.#slot = heap.slot;
    this.#slots = heap.slots;
    this.#pageSlots = heap.pageSlots;
    this.#inbox = heap.hw + H_INBOX;
    this.#remote = heap.slot === 0 ? [] : Array.from({ length: this.#slots!.count + 1 }, () => null);
    this.#locked = this.memory.shared && heap.slot === 0;
    this.#lockWords = this.memory.i32;
    this.#lockIndex = heap.hw + H_LOCK;
  }

  /**
   * Opens a heap that a {@link Malloc} created in `memory` earlier: from another worker on a
   * shared memory, or in a buffer saved and loaded again. Without `address` it opens the heap
   * recorded in the memory's root table.
   *
   * `options.beforeMap` is this handle's own, as for the constructor. The heap of a heap slot
   * (option `heapSlot`) must be opened by the thread that holds the slot.
   *
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INCOMPATIBLE` when there is no malloc heap at
   *   `address` (or none is recorded), or it has another layout version;
   *   `ERR_TSMALLOC_INVALID_OPTION` for a bad `memory` or option
   */
  static attach(memory: LinearMemory, address?: number, options: Pick<MallocOptions, "beforeMap"> = {}): Malloc {
    if (!(memory instanceof LinearMemory)) throw optionError(`attach: memory must be a LinearMemory, got ${describeValue(memory)}`);
    if (typeof options !== "object" || options === null) throw optionError(`attach: options must be an object, got ${describeValue(options)}`);
    if (options.beforeMap !== undefined && typeof options.beforeMap !== "function") {
      throw optionError(`attach: beforeMap must be a function, got ${describeValue(options.beforeMap)}`);
    }
    const at = address ?? memory.getRoot(ROOT_TAG);
    const incompatible = (why: string): TsmallocError =>
      new TsmallocError(ErrorCode.Incompatible, `Malloc.attach: ${why}`, { address: at });
    if (at === 0) throw incompatible("no malloc heap is recorded in this memory");
    if (!isAddress(at) || at % PAGE_SIZE !== 32 || at + 4096 > memory.byteLength) throw incompatible(`${describeValue(at)} is not a heap address`);
    const u32 = memory.u32;
    const hw = at >>> 2;
    if (memory.pageOwner(at) !== RegionOwner.Malloc || u32[hw + H_MAGIC] !== HEAP_MAGIC) throw incompatible(`no malloc heap at ${formatAddress(at)}`);
    if (u32[hw + H_VERSION] !== HEAP_VERSION) throw incompatible(`heap at ${formatAddress(at)} has layout version ${u32[hw + H_VERSION]}, this build reads ${HEAP_VERSION}`);
    let slot: HeapSlot | null = null;
    if (u32[hw + H_SLOT] !== 0) {
      // the heap of a heap slot: the thread that opens it must hold the slot (see HeapSlots)
      let table: HeapSlots;
      try {
        table = HeapSlots.attach(memory, u32[hw + H_SLOTS]!);
      } catch (error) {
        throw new TsmallocError(ErrorCode.Incompatible, `Malloc.attach: the heap at ${formatAddress(at)} names a heap-slot table that cannot be opened`, { address: at, cause: error });
      }
      if (u32[hw + H_SLOT]! > table.count || table.heap(u32[hw + H_SLOT]!, HeapKind.Malloc) !== at) throw incompatible(`the heap at ${formatAddress(at)} is not the malloc heap of the slot it names`);
      slot = { table, slot: u32[hw + H_SLOT]! };
    }
    const attached: AttachedOptions = { beforeMap: options.beforeMap, [ATTACHED]: new Heap(memory, at, slot) };
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

  /** The heap slot this heap belongs to (free-threading, option `heapSlot`), 0 for none. */
  get heapSlot(): number {
    return this.#slot;
  }

  /**
   * True when other threads freed blocks into this heap slot's heap that it has not freed yet
   * (one load; see {@link Malloc.drainRemoteFrees}). Always false for a heap of no slot.
   */
  get remoteFreesWaiting(): boolean {
    return this.#slot !== 0 && this.memory.u32[this.#inbox] !== 0;
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
    if (this.#locked) return this.#mallocLocked(size === 0 ? 1 : size);
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
    if (this.#locked) lockMutex(this.#lockWords, this.#lockIndex);
    try {
      heap.sync();
      const p = heap.malloc(n);
      // large blocks are fresh regions, which the region allocator hands out zeroed
      if (p !== 0 && n < heap.mmapThreshold) heap.zeroPayload(p, n);
      return p;
    } finally {
      if (this.#locked) unlockMutex(this.#lockWords, this.#lockIndex);
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
    if (this.#slot !== 0) return this.#reallocThreaded(ptr, n);
    const heap = this.#heap;
    if (this.#locked) lockMutex(this.#lockWords, this.#lockIndex);
    try {
      heap.sync();
      const kind = heap.validate(ptr);
      if (kind === KIND_BLOCK) return n > MAX_MEMORY_BYTES ? 0 : heap.realloc(ptr, n);
      if (kind === KIND_LARGE) return n > MAX_MEMORY_BYTES ? 0 : heap.largeRealloc(ptr, n);
      throw diagnosePointer(heap, ptr, "realloc");
    } finally {
      if (this.#locked) unlockMutex(this.#lockWords, this.#lockIndex);
    }
  }

  /**
   * realloc() of a heap slot's heap. The caller's own block is resized as in any heap. Another
   * slot's block is never touched in place (that would change its owner's structures): a block of
   * the new size comes from this heap, the data is copied, and the old block goes back to its
   * owner's remote-free list.
   */
  #reallocThreaded(ptr: number, n: number): number {
    const heap = this.#heap;
    heap.sync();
    const slot = heap.u8[this.#pageSlots + (ptr >>> 16)]!;
    if (slot === this.#slot) {
      const kind = this.#requireOwnBlock(ptr, "realloc");
      if (n > MAX_MEMORY_BYTES) return 0;
      return kind === KIND_BLOCK ? heap.realloc(ptr, n) : heap.largeRealloc(ptr, n);
    }
    const owner = this.#remoteHeap(slot, ptr, "realloc");
    const kind = this.#requireRemoteBlock(owner, ptr, "realloc");
    if (n > MAX_MEMORY_BYTES) return 0;
    const usable = owner.usableSize(ptr, kind);
    const q = heap.malloc(n);
    if (q === 0) return 0;
    this.memory.u8.copyWithin(q, ptr, ptr + Math.min(usable, n));
    this.#push(owner, ptr);
    return q;
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
    if (this.#locked) this.#freeLocked(ptr);
    else if (this.#slot !== 0) this.#freeThreaded(ptr);
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
   * free() of a heap slot's heap. The page's slot says whose block it is (one load). The caller's
   * own block (its check word names this heap) is freed here and now, with no atomic operation,
   * after one more load that tells a block waiting on the remote-free list; another slot's block is
   * checked against its heap and goes onto that heap's remote-free list, without first failing
   * this heap's check.
   */
  #freeThreaded(ptr: number): void {
    const heap = this.#heap;
    heap.sync();
    const slot = heap.u8[this.#pageSlots + (ptr >>> 16)]!;
    if (slot !== this.#slot) {
      const owner = this.#remoteHeap(slot, ptr, "free");
      this.#requireRemoteBlock(owner, ptr, "free");
      this.#push(owner, ptr);
      return;
    }
    const kind = heap.validate(ptr);
    if (kind === NOT_A_BLOCK) throw diagnosePointer(heap, ptr, "free");
    if ((heap.u32[(ptr >>> 2) + 1]! | 0) === heap.pendingMark(ptr) && this.#pending(ptr)) throw pendingError(ptr, "free");
    if (kind === KIND_BLOCK) heap.free(ptr);
    else heap.largeFree(ptr);
  }

  /**
   * Checks that `ptr` is a used block of this (slot's) heap that is not waiting on its remote-free
   * list. The pending mark is the second payload word; a live block whose data happens to equal
   * it is told apart by a walk of the list, which only the owner may take.
   *
   * @returns KIND_BLOCK or KIND_LARGE
   * @throws {@link TsmallocError} as {@link Malloc.free}
   */
  #requireOwnBlock(ptr: number, fn: string): number {
    const heap = this.#heap;
    const kind = heap.validate(ptr);
    if (kind === NOT_A_BLOCK) throw diagnosePointer(heap, ptr, fn);
    if ((heap.u32[(ptr >>> 2) + 1]! | 0) === heap.pendingMark(ptr) && this.#pending(ptr)) throw pendingError(ptr, fn);
    return kind;
  }

  /** True when `ptr` is on this heap's remote-free list (the owner's walk; pushes only prepend). */
  #pending(ptr: number): boolean {
    const u32 = this.#heap.u32;
    for (let p = Atomics.load(this.memory.i32, this.#inbox) >>> 0; p !== 0 && p >>> 2 < u32.length; p = u32[p >>> 2]!) {
      if (p === ptr) return true;
    }
    return false;
  }

  /**
   * The heap of slot `slot`, which holds the page of `ptr`, opened here on the first free into it.
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_POINTER` when the page is no malloc heap's
   */
  #remoteHeap(slot: number, ptr: number, fn: string): Heap {
    const known = slot === 0 ? null : this.#remote[slot];
    if (known !== null && known !== undefined) return known;
    const address = slot === 0 || slot > this.#slots!.count ? 0 : this.#slots!.heap(slot, HeapKind.Malloc);
    if (address === 0) throw diagnosePointer(this.#heap, ptr, fn);
    const owner = new Heap(this.memory, address, { table: this.#slots!, slot });
    this.#remote[slot] = owner;
    return owner;
  }

  /**
   * Checks that `ptr` is a used block of `owner` (another slot's heap, which may be changing it at
   * this moment) that is not waiting on a remote-free list already.
   *
   * @returns KIND_BLOCK or KIND_LARGE
   * @throws {@link TsmallocError} as {@link Malloc.free}; a block whose second payload word holds
   *   its pending mark is taken for one waiting on the list (a live block whose data equals the
   *   mark by chance, odds 2^-32, is refused too: only its owner can walk the list)
   */
  #requireRemoteBlock(owner: Heap, ptr: number, fn: string): number {
    owner.sync();
    const kind = owner.validateRemote(ptr);
    if (kind === NOT_A_BLOCK) throw diagnosePointer(owner, ptr, fn);
    if ((owner.u32[(ptr >>> 2) + 1]! | 0) === owner.pendingMark(ptr)) throw pendingError(ptr, fn);
    return kind;
  }

  /**
   * Pushes the used block `ptr` of `owner` onto its remote-free list: the pending mark and the
   * link go into the block (which is the caller's to write), then one compareExchange publishes it.
   */
  #push(owner: Heap, ptr: number): void {
    const w = ptr >>> 2;
    // the memory's current view (one for all of it: the owner's header may lie past what this
    // heap's first view covered); the mark is stored as the signed word it is compared as
    const words = this.memory.i32;
    const index = owner.hw + H_INBOX;
    words[w + 1] = owner.pendingMark(ptr);
    // a plain read of the head is enough: the compareExchange checks it
    let head = words[index]!;
    for (;;) {
      words[w] = head;
      const seen = Atomics.compareExchange(words, index, head, ptr | 0);
      if (seen === head) return;
      head = seen;
    }
  }

  /**
   * Frees, now, what other threads freed into this heap slot's heap (they wait on its remote-free
   * list until the heap runs out of free blocks, or maps a large block's region). For a thread that
   * stops allocating, before it lets its slot go. Does nothing for a heap of no slot.
   *
   * @returns the number of blocks freed
   */
  drainRemoteFrees(): number {
    if (this.#slot === 0) return 0;
    this.#heap.sync();
    return this.#heap.drainRemote();
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
    if (this.#locked) lockMutex(this.#lockWords, this.#lockIndex);
    try {
      heap.sync();
      return heap.memalign(alignment, n);
    } finally {
      if (this.#locked) unlockMutex(this.#lockWords, this.#lockIndex);
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
    if (this.#slot !== 0) {
      heap.sync();
      const slot = heap.u8[this.#pageSlots + (ptr >>> 16)]!;
      if (slot === this.#slot) return heap.usableSize(ptr, this.#requireOwnBlock(ptr, "usableSize"));
      const owner = this.#remoteHeap(slot, ptr, "usableSize");
      return owner.usableSize(ptr, this.#requireRemoteBlock(owner, ptr, "usableSize"));
    }
    if (this.#locked) lockMutex(this.#lockWords, this.#lockIndex);
    try {
      heap.sync();
      const kind = heap.validate(ptr);
      if (kind === KIND_BLOCK || kind === KIND_LARGE) return heap.usableSize(ptr, kind);
      throw diagnosePointer(heap, ptr, "usableSize");
    } finally {
      if (this.#locked) unlockMutex(this.#lockWords, this.#lockIndex);
    }
  }

  /**
   * True when `ptr` lies in a segment or large-block region of this heap (a block, free space or
   * a header); for the heap of a heap slot, of any slot's malloc heap in the same table (the
   * blocks its free accepts). Never throws; takes time linear in the region's pages.
   */
  owns(ptr: number): boolean {
    if (!isAddress(ptr)) return false;
    const owner = this.memory.pageOwner(ptr);
    if (owner !== RegionOwner.Malloc && owner !== RegionOwner.MallocLarge) return false;
    let heap = this.#heap.address;
    if (this.#slot !== 0) {
      const slot = this.#slots!.slotOf(ptr);
      if (slot === 0 || slot > this.#slots!.count) return false;
      heap = this.#slots!.heap(slot, HeapKind.Malloc);
    }
    const region = this.memory.regionAt(ptr);
    if (region === null) return false;
    const u32 = this.memory.u32;
    const r = region.address >>> 2;
    return owner === RegionOwner.Malloc
      ? u32[r] === SEGMENT_MAGIC && u32[r + SEG_HEAP] === heap
      : u32[r] === LARGE_MAGIC && u32[r + LARGE_HEAP] === heap;
  }

  /**
   * Validates every invariant of the heap (segments, blocks, boundary tags, free lists, bitmaps,
   * counters, large blocks, agreement with the memory's page map). Linear in the heap's size.
   *
   * @returns every problem found; `ok` is true when there is none
   */
  check(): HeapCheck {
    if (this.#locked) lockMutex(this.#lockWords, this.#lockIndex);
    try {
      return checkHeap(this.#heap);
    } finally {
      if (this.#locked) unlockMutex(this.#lockWords, this.#lockIndex);
    }
  }

  /** Numbers about the heap: live and free blocks and bytes, the largest free block, regions. */
  stats(): MallocStats {
    if (this.#locked) lockMutex(this.#lockWords, this.#lockIndex);
    try {
      return heapStats(this.#heap);
    } finally {
      if (this.#locked) unlockMutex(this.#lockWords, this.#lockIndex);
    }
  }
}

/** The error for a block that waits on a remote-free list already: a double free. */
function pendingError(ptr: number, fn: string): TsmallocError {
  return new TsmallocError(ErrorCode.DoubleFree, `${fn}: ${formatAddress(ptr)} was already freed: it waits on its heap's remote-free list`, { address: ptr });
}

/** Checks the `heapSlot` option: a slot of this memory's table with no malloc heap yet. */
function requireHeapSlot(value: unknown, memory: LinearMemory, register: boolean | undefined): HeapSlot {
  const slot = value as Partial<HeapSlot> | null;
  if (typeof slot !== "object" || slot === null || !(slot.table instanceof HeapSlots)) {
    throw optionError(`heapSlot must be { table: HeapSlots, slot: number }, got ${describeValue(value)}`);
  }
  if (slot.table.memory !== memory) throw optionError("heapSlot.table must be a table of this heap's memory");
  const n = slot.slot;
  if (!(typeof n === "number" && Number.isInteger(n) && n >= 1 && n <= slot.table.count)) {
    throw optionError(`heapSlot.slot must be an integer from 1 to ${slot.table.count}, got ${describeValue(n)}`);
  }
  if (slot.table.heap(n, HeapKind.Malloc) !== 0) throw optionError(`slot ${n} has a malloc heap already: open it with Malloc.attach`);
  if (register === true) throw optionError("a heap slot's heap is recorded in the slot table, not in the root table: do not pass register: true");
  return { table: slot.table, slot: n };
}
