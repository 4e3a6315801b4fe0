/**
 * pymalloc: CPython's small-object allocator (`Objects/obmalloc.c`) over linear memory.
 *
 * Requests of 1..512 bytes are served from pools of one size class each; pools are carved from
 * arenas; everything else goes to the raw allocator given at construction. Every structure lives
 * in the memory (see `structs.ts`); this object only caches the layout's numbers.
 *
 *     usedpools[class] ──> pool <-> pool <-> pool      pools with free blocks, most recent first
 *     usable_arenas    ──> arena <-> arena <-> arena   arenas with free pools, fewest first
 *     nfp2lasta[n]     ──> the last arena in usable_arenas with n free pools
 *     arenas[]             one arena object per slot; unused slots on unused_arena_objects
 *     arena map            per arena-sized chunk of the address space: which part is an arena
 */
import {
  type Allocator,
  type AllocatorStats,
  checkOversize,
  describeValue,
  ErrorCode,
  formatAddress,
  type HeapCheck,
  HeapKind,
  type HeapSlot,
  HeapSlots,
  isAddress,
  LinearMemory,
  lockMutex,
  MAX_MEMORY_BYTES,
  RegionOwner,
  requireAddress,
  TsmallocError,
  unlockMutex,
} from "@tsmalloc/memory";
import { type ArenaAllocator, regionArenaAllocator } from "./arena-allocator.ts";
import { checkHeap } from "./check.ts";
import { optionError } from "./errors.ts";
import { arenaMapBytes, type PymallocLayout, type PymallocLayoutName, type PymallocLayoutOptions, resolveLayout } from "./layout.ts";
import { collectStats, countAllocatedBlocks, type PymallocStats } from "./stats.ts";
import { formatStats } from "./format-stats.ts";
import {
  ARENA_ADDRESS_WORD,
  ARENA_FREEPOOLS_WORD,
  ARENA_NEXTARENA_WORD,
  ARENA_NFREEPOOLS_WORD,
  ARENA_NTOTALPOOLS_WORD,
  ARENA_OBJECT_SIZE,
  ARENA_POOL_ADDRESS_WORD,
  ARENA_PREVARENA_WORD,
  DUMMY_SIZE_IDX,
  INITIAL_ARENA_OBJECTS,
  nfp2lastaOffset,
  POOL_COUNT_WORD,
  poolHeaderFields,
  ROOT_TAG,
  STATE_ALIGNMENT_WORD,
  STATE_ARENA_MAP_BYTES_WORD,
  STATE_ARENA_MAP_WORD,
  STATE_ARENA_SIZE_WORD,
  STATE_ARENAS_WORD,
  STATE_FLAGS_WORD,
  STATE_HEAP_SLOTS_WORD,
  STATE_INBOX_DAMAGE_WORD,
  STATE_INBOX_WORD,
  FLAG_FOREIGN_ARENAS,
  STATE_LOCK_WORD,
  STATE_MAGIC,
  STATE_MAGIC_WORD,
  STATE_MAXARENAS_WORD,
  STATE_NARENAS_CURRENTLY_ALLOCATED_WORD,
  STATE_NARENAS_HIGHWATER_WORD,
  STATE_NTIMES_ARENA_ALLOCATED_WORD,
  STATE_POINTER_SIZE_WORD,
  STATE_POOL_SIZE_WORD,
  STATE_RAW_ALLOCATED_BLOCKS_WORD,
  STATE_RAW_FREED_REMOTELY_WORD,
  STATE_SALT_WORD,
  STATE_SLOT_WORD,
  STATE_THRESHOLD_WORD,
  STATE_UNUSED_ARENA_OBJECTS_WORD,
  STATE_USABLE_ARENAS_WORD,
  STATE_USEDPOOLS_OFFSET,
  STATE_VERSION,
  STATE_VERSION_WORD,
  stateBytes,
} from "./structs.ts";

/** Options of {@link Pymalloc}. */
export interface PymallocOptions {
  /** A preset name from `PymallocLayouts` or the tunables; default `"default"` (CPython 3.10+). */
  readonly layout?: PymallocLayoutName | Partial<PymallocLayoutOptions> | undefined;
  /** Where arenas come from; default {@link regionArenaAllocator} over the raw allocator's memory. */
  readonly arenaAllocator?: ArenaAllocator | undefined;
  /**
   * Validate pointers given to `free` and `realloc` beyond the O(1) arena test: interior
   * pointers, pointers into pool headers or free pools, never-allocated blocks and double frees.
   * Default true; false skips them (the fast path then trusts every pointer inside an arena).
   * `usableSize` checks always.
   */
  readonly checks?: boolean | undefined;
  /**
   * Called when a pool is needed and no arena has a free one, just before a new arena is
   * requested: where `PYTHONMALLOCSTATS` prints the statistics. It may allocate and free through
   * this heap; if that leaves an arena with a free pool, no new arena is requested.
   */
  readonly onNewArena?: ((allocator: Pymalloc) => void) | undefined;
  /**
   * Record the heap in the memory's root table (tag `"pyml"`) so that `Pymalloc.attach` finds it
   * without an address. Default: true when no heap is recorded yet.
   */
  readonly register?: boolean | undefined;
  /**
   * Make the heap of a heap slot (free-threading): `table` is the memory's `HeapSlots`, `slot` a
   * slot the calling thread holds and that has no pymalloc heap yet; `raw` should be that slot's
   * own malloc heap (or a domain over it). Such a heap takes no lock for its own blocks; any
   * thread may free or resize its blocks through its own slot's heap (see {@link Pymalloc}). The
   * heap uses the default arena allocator (no `arenaAllocator`), the same layout as the table's
   * other pymalloc heaps, and is recorded in the table, not in the root table.
   */
  readonly heapSlot?: HeapSlot | undefined;
}

const OPTION_KEYS: ReadonlySet<string> = new Set(["layout", "arenaAllocator", "checks", "onNewArena", "register", "heapSlot"]);

/**
 * The key under which `Pymalloc.attach` hands the constructor the state address of the heap to
 * open. Only this module can name it, so a caller's options never carry it.
 */
const ATTACHED: unique symbol = Symbol("Pymalloc.attach");

/** The constructor's options as attach() passes them. */
interface AttachedOptions extends PymallocOptions {
  readonly [ATTACHED]: number;
}

/** The largest arenas vector: far more arenas than any memory can hold. */
const MAX_ARENA_OBJECTS = 1 << 20;

/**
 * CPython's pymalloc over a {@link LinearMemory}: an {@link Allocator} for many small blocks.
 *
 * - `malloc(n)` for 1..512 bytes (the layout's threshold) takes a block from a pool of its size
 *   class: 16-byte aligned and 16-byte granular by default; `malloc(0)` and larger requests go to
 *   the raw allocator, as do `calloc` above the threshold and `realloc` of the raw allocator's
 *   blocks.
 * - `realloc` of a pool block stays in place when the new size is more than 3/4 of its class size
 *   and not larger; otherwise it moves (copying `min(old class size, n)` bytes).
 * - Out of memory returns 0 and leaves the heap valid; bad arguments throw a
 *   {@link TsmallocError} before anything changes.
 *
 * Not thread-safe by itself on unshared memory (CPython's GIL); on shared memory every call takes
 * the heap's lock, so `Pymalloc.attach` in several workers is safe.
 *
 * Free-threading (option `heapSlot`, as CPython's free-threaded build gives each thread its own
 * heaps): each thread has a pymalloc heap of its own in the shared memory and takes no lock.
 * `free(p)` of the caller's own block (in one of its arenas) goes back to its pool at once, as in
 * any heap; for any other block it reads the slot of `p`'s page in the `HeapSlots` table: another
 * slot's block is checked, given the freed mark and pushed onto its
 * heap's remote-free list with one compareExchange, and its owner puts it back into its pool before
 * it next takes a new pool (one exchange takes the whole list). `realloc` of another slot's block
 * stays in place when its size class still fits, and otherwise moves into the caller's heap.
 *
 * @example
 * ```ts
 * const memory = new LinearMemory();
 * const obj = new Pymalloc(new Malloc(memory));
 * const p = obj.malloc(24); // a 32-byte block of size class 1
 * obj.free(p);
 * console.log(obj.formatStats()); // sys._debugmallocstats()'s pymalloc part
 * ```
 */
export class Pymalloc implements Allocator {
  /** The configuration name CPython reports for this allocator. */
  readonly name: string = "pymalloc";

  /** The heap slot this heap belongs to (free-threading, option `heapSlot`), 0 for none. */
  get heapSlot(): number {
    return this.#slot;
  }

  /**
   * True when other threads freed blocks into this heap slot's heap that are not back in their
   * pools yet (one load; see {@link Pymalloc.drainRemoteFrees}). Always false for a heap of no slot.
   */
  get remoteFreesWaiting(): boolean {
    return this.#slot !== 0 && this.memory.u32[this.#inbox] !== 0;
  }
  /** The memory every block lives in (the raw allocator's). */
  readonly memory: LinearMemory;
  /** Where `malloc(0)`, large requests and pymalloc's own tables go. */
  readonly raw: Allocator;
  /** The layout this heap was built with. */
  readonly layout: PymallocLayout;
  /** Address of the state block (what {@link Pymalloc.attach} takes). */
  readonly address: number;

  readonly #stateWord: number;
  readonly #usedpools: number;
  readonly #nfp2lasta: number;
  readonly #mapWord: number;
  readonly #threshold: number;
  readonly #shift: number;
  readonly #numClasses: number;
  readonly #poolSize: number;
  readonly #poolMask: number;
  readonly #overhead: number;
  readonly #arenaSize: number;
  readonly #arenaBits: number;
  readonly #arenaMask: number;
  readonly #maxPools: number;
  // the pool header's field offsets, which depend on the layout's pointer size (structs.ts)
  readonly #freeblockWord: number;
  readonly #nextpoolWord: number;
  readonly #prevpoolWord: number;
  readonly #arenaindexWord: number;
  readonly #szidxWord: number;
  readonly #nextoffsetWord: number;
  readonly #maxnextoffsetWord: number;
  readonly #nextpoolOffset: number;
  readonly #salt: number;
  readonly #checks: boolean;
  /** Every call takes the heap's lock: a shared memory, and no heap slot. */
  readonly #shared: boolean;
  /** The heap slot's number (free-threading), 0 for none. */
  readonly #slot: number;
  /** The slot table, null without a slot. */
  readonly #slots: HeapSlots | null;
  /** Byte offsets of the slot table's page table and of the memory's page map. */
  readonly #pageSlots: number;
  readonly #pageMap: number;
  /** Word index of this heap's remote-free list. */
  readonly #inbox: number;
  /**
   * The pymalloc heaps of other slots, by slot, read from the slot table on the first free into
   * each (a slot's heap, once made, stays): the word index of its remote-free list (0: not read
   * yet, or the slot has no pymalloc heap) and its salt (the freed mark of its blocks is
   * `p ^ salt`). Two typed-array loads instead of a table lookup per free.
   */
  readonly #remoteInbox: Int32Array;
  readonly #remoteSalt: Int32Array;
  readonly #inverseSize: Float64Array;
  readonly #lockWords: Int32Array;
  /** How deep this instance is in its own calls holding the lock (a hook may call back in). */
  #lockDepth = 0;
  #arenaAllocator: ArenaAllocator;
  readonly #onNewArena: ((allocator: Pymalloc) => void) | undefined;

  /**
   * Creates a pymalloc heap whose raw allocator is `raw` (its memory is pymalloc's memory). The
   * state block and the arena map are allocated from `raw` at once; arenas come on first use.
   *
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` for a `raw` that is not an
   *   allocator or an option that is out of range; `ERR_TSMALLOC_OUT_OF_MEMORY` when `raw` cannot
   *   provide the state block and the arena map
   */
  constructor(raw: Allocator, options: PymallocOptions = {}) {
    const attaching = typeof options === "object" && options !== null ? ((options as Partial<AttachedOptions>)[ATTACHED] ?? 0) : 0;
    if (
      typeof raw !== "object" || raw === null || !(raw.memory instanceof LinearMemory) ||
      typeof raw.malloc !== "function" || typeof raw.calloc !== "function" ||
      typeof raw.realloc !== "function" || typeof raw.free !== "function"
    ) {
      throw optionError(`raw must be an Allocator (malloc, calloc, realloc, free and a LinearMemory), got ${describeValue(raw)}`);
    }
    if (typeof options !== "object" || options === null) throw optionError(`options must be an object, got ${describeValue(options)}`);
    for (const key of Object.keys(options)) {
      if (!OPTION_KEYS.has(key)) throw optionError(`unknown option ${JSON.stringify(key)}`);
    }
    if (options.checks !== undefined && typeof options.checks !== "boolean") throw optionError(`checks must be a boolean, got ${describeValue(options.checks)}`);
    if (options.register !== undefined && typeof options.register !== "boolean") throw optionError(`register must be a boolean, got ${describeValue(options.register)}`);
    if (options.onNewArena !== undefined && typeof options.onNewArena !== "function") throw optionError(`onNewArena must be a function, got ${describeValue(options.onNewArena)}`);
    if (options.arenaAllocator !== undefined) requireArenaAllocator(options.arenaAllocator);

    const memory = raw.memory;
    this.memory = memory;
    this.raw = raw;
    let layout: PymallocLayout;
    let address: number;
    let slot: HeapSlot | null = null;
    if (attaching !== 0) {
      const u32 = memory.u32;
      const w = attaching >>> 2;
      if (options.layout !== undefined) throw optionError("attach takes the layout from the heap; do not pass one");
      try {
        layout = resolveLayout({
          alignment: u32[w + STATE_ALIGNMENT_WORD]!,
          smallRequestThreshold: u32[w + STATE_THRESHOLD_WORD]!,
          poolSize: u32[w + STATE_POOL_SIZE_WORD]!,
          arenaSize: u32[w + STATE_ARENA_SIZE_WORD]!,
          // heaps made before the pointer size was recorded are 64-bit ones
          pointerSize: u32[w + STATE_POINTER_SIZE_WORD]! === 0 ? 8 : u32[w + STATE_POINTER_SIZE_WORD]!,
        });
      } catch (error) {
        throw new TsmallocError(ErrorCode.Incompatible, `Pymalloc.attach: the heap at ${formatAddress(attaching)} records a layout this build cannot use`, { address: attaching, cause: error });
      }
      address = attaching;
      slot = slotOfState(memory, attaching);
    } else {
      layout = resolveLayout(options.layout);
      if (options.heapSlot !== undefined) slot = requireHeapSlot(options.heapSlot, memory, options, layout);
      address = createState(raw, layout);
      if (slot !== null) {
        memory.u32[(address >>> 2) + STATE_SLOT_WORD] = slot.slot;
        memory.u32[(address >>> 2) + STATE_HEAP_SLOTS_WORD] = slot.table.address;
        slot.table.setHeap(slot.slot, HeapKind.Pymalloc, address);
      }
    }
    this.#slot = slot === null ? 0 : slot.slot;
    this.#slots = slot === null ? null : slot.table;
    this.#pageSlots = slot === null ? 0 : slot.table.pageTable;
    this.#pageMap = memory.pageMapOffset;
    this.#remoteInbox = new Int32Array(slot === null ? 0 : slot.table.count + 1);
    this.#remoteSalt = new Int32Array(slot === null ? 0 : slot.table.count + 1);
    this.#inbox = (address >>> 2) + STATE_INBOX_WORD;
    this.#shared = memory.shared && slot === null;
    this.layout = layout;
    this.address = address;
    this.#stateWord = address >>> 2;
    this.#usedpools = address + STATE_USEDPOOLS_OFFSET;
    this.#nfp2lasta = address + nfp2lastaOffset(layout.numClasses);
    this.#threshold = layout.smallRequestThreshold;
    this.#shift = layout.alignmentShift;
    this.#numClasses = layout.numClasses;
    this.#poolSize = layout.poolSize;
    this.#poolMask = layout.poolSize - 1;
    this.#overhead = layout.poolOverhead;
    this.#arenaSize = layout.arenaSize;
    this.#arenaBits = layout.arenaBits;
    this.#arenaMask = layout.arenaSize - 1;
    this.#maxPools = layout.maxPoolsInArena;
    const fields = poolHeaderFields(layout.pointerSize);
    this.#freeblockWord = fields.freeblock;
    this.#nextpoolWord = fields.nextpool;
    this.#prevpoolWord = fields.prevpool;
    this.#arenaindexWord = fields.arenaindex;
    this.#szidxWord = fields.szidx;
    this.#nextoffsetWord = fields.nextoffset;
    this.#maxnextoffsetWord = fields.maxnextoffset;
    this.#nextpoolOffset = fields.nextpoolOffset;
    const u32 = memory.u32;
    this.#mapWord = u32[this.#stateWord + STATE_ARENA_MAP_WORD]! >>> 2;
    this.#salt = u32[this.#stateWord + STATE_SALT_WORD]!;
    this.#lockWords = memory.i32;
    this.#inverseSize = new Float64Array(layout.numClasses);
    for (let i = 0; i < layout.numClasses; i++) this.#inverseSize[i] = 1 / ((i + 1) << layout.alignmentShift);
    this.#checks = options.checks ?? true;
    this.#arenaAllocator = options.arenaAllocator ?? regionArenaAllocator(memory, { alignment: layout.poolSize });
    this.#onNewArena = options.onNewArena;
    if (options.arenaAllocator !== undefined) this.#markForeignArenas();
    if (slot === null && (options.register ?? memory.getRoot(ROOT_TAG) === 0)) memory.setRoot(ROOT_TAG, address);
  }

  /**
   * Opens a pymalloc heap that already lives in `raw.memory`: from another worker sharing the
   * memory, or in a buffer saved and loaded again. `raw` must be the same raw heap (for example
   * `Malloc.attach(memory)`). Without `address` it opens the heap recorded in the root table.
   *
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INCOMPATIBLE` when there is no pymalloc heap at
   *   `address` (or none is recorded) or it has another layout version;
   *   `ERR_TSMALLOC_INVALID_OPTION` as the constructor
   */
  static attach(raw: Allocator, address?: number, options: Omit<PymallocOptions, "layout"> = {}): Pymalloc {
    const memory: unknown = typeof raw === "object" && raw !== null ? raw.memory : undefined;
    if (!(memory instanceof LinearMemory)) throw optionError(`attach: raw must be an Allocator, got ${describeValue(raw)}`);
    const at = address ?? memory.getRoot(ROOT_TAG);
    const incompatible = (why: string): TsmallocError =>
      new TsmallocError(ErrorCode.Incompatible, `Pymalloc.attach: ${why}`, { address: at });
    if (at === 0) throw incompatible("no pymalloc heap is recorded in this memory");
    if (!isAddress(at) || at % 8 !== 0 || at + STATE_USEDPOOLS_OFFSET > memory.byteLength) throw incompatible(`${describeValue(at)} is not a heap address`);
    const u32 = memory.u32;
    const w = at >>> 2;
    if (u32[w + STATE_MAGIC_WORD] !== STATE_MAGIC) throw incompatible(`no pymalloc heap at ${formatAddress(at)}`);
    if (u32[w + STATE_VERSION_WORD] !== STATE_VERSION) {
      throw incompatible(`heap at ${formatAddress(at)} has layout version ${u32[w + STATE_VERSION_WORD]}, this build reads ${STATE_VERSION}`);
    }
    if (u32[w + STATE_SLOT_WORD] !== 0) {
      if (options.heapSlot !== undefined) throw optionError("attach: a heap slot's heap records its slot; do not pass heapSlot");
      // the heap of a heap slot: the thread that opens it must hold the slot (see HeapSlots)
      slotOfState(memory, at);
    }
    const attached: AttachedOptions = { register: false, ...options, [ATTACHED]: at };
    return new Pymalloc(raw, attached);
  }

  // ---------------------------------------------------------------------------------------------
  // The Allocator contract

  /**
   * Allocates `nbytes` bytes: from a pool for 1..threshold bytes, from the raw allocator for 0 and
   * for larger requests (and when no arena can be had).
   *
   * @returns the block's address, or 0 when neither a pool block nor a raw block can be had
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_SIZE` unless `nbytes` is a non-negative integer
   */
  malloc(nbytes: number): number {
    if (typeof nbytes !== "number" || (nbytes >>> 0) !== nbytes) {
      checkOversize(nbytes, "malloc");
      return 0;
    }
    if (this.#shared) return this.#lockedMalloc(nbytes);
    return this.#malloc(nbytes);
  }

  /**
   * Allocates `nelem * elsize` zeroed bytes, from a pool when the product is 1..threshold bytes
   * and from the raw allocator's `calloc` otherwise.
   *
   * @returns the block's address, or 0 when the product is too large or no memory can be had
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_SIZE` unless both are non-negative integers
   */
  calloc(nelem: number, elsize: number): number {
    if (typeof nelem !== "number" || (nelem >>> 0) !== nelem) checkOversize(nelem, "calloc", "nelem");
    if (typeof elsize !== "number" || (elsize >>> 0) !== elsize) checkOversize(elsize, "calloc", "elsize");
    const nbytes = nelem * elsize;
    if (nbytes > MAX_MEMORY_BYTES) return 0;
    if (this.#shared) this.#lock();
    try {
      if ((nbytes - 1) >>> 0 < this.#threshold) {
        const p = this.#poolAlloc(this.memory.u32, (nbytes - 1) >>> this.#shift);
        if (p !== 0) {
          this.memory.u8.fill(0, p, p + nbytes);
          return p;
        }
      }
      const p = this.raw.calloc(nelem, elsize);
      if (p !== 0) this.#countRaw(1);
      return p;
    } finally {
      if (this.#shared) this.#unlock();
    }
  }

  /**
   * Resizes the block at `p`. A pool block stays where it is when `3/4 * class size < nbytes <=
   * class size`; otherwise the data moves to a new block (a pool block, or a raw one for 0 and
   * large sizes) and the old one is freed. A raw block is resized by the raw allocator and stays
   * raw. `p` 0 behaves as `malloc(nbytes)`.
   *
   * @returns the block's address, or 0 when no memory can be had (the old block is then intact)
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_SIZE` for a bad size;
   *   `ERR_TSMALLOC_INVALID_POINTER` / `ERR_TSMALLOC_DOUBLE_FREE` for a pointer that is not a live
   *   block (see `checks`), or whatever the raw allocator throws for one of its own
   */
  realloc(p: number, nbytes: number): number {
    if (typeof p !== "number" || (p >>> 0) !== p) requireAddress(p, "realloc");
    if (typeof nbytes !== "number" || (nbytes >>> 0) !== nbytes) {
      checkOversize(nbytes, "realloc");
      // too large for any memory: 0, but only for a pointer that may be resized at all
      if (p !== 0) this.#inspect(() => this.#requireLive(p, "realloc"));
      return 0;
    }
    if (p === 0) return this.malloc(nbytes);
    if (this.#shared) {
      this.#lock();
      try {
        return this.#realloc(p, nbytes);
      } finally {
        this.#unlock();
      }
    }
    return this.#realloc(p, nbytes);
  }

  /**
   * Frees the block at `p`: back to its pool, or to the raw allocator when `p` is not in an arena.
   * 0 is a no-op.
   *
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_POINTER` for a pointer that is not a live
   *   block (inside a pool header, an empty or never-used pool, a never-allocated block, or not at
   *   a block start: with `checks`), `ERR_TSMALLOC_DOUBLE_FREE` for a block already freed (with
   *   `checks`), or whatever the raw allocator throws for a pointer outside the arenas
   */
  free(p: number): void {
    if (typeof p !== "number" || (p >>> 0) !== p) {
      requireAddress(p, "free");
      return;
    }
    if (p === 0) return;
    if (this.#shared) {
      this.#lock();
      try {
        this.#free(p);
      } finally {
        this.#unlock();
      }
      return;
    }
    this.#free(p);
  }

  /**
   * Bytes the block at `p` can hold: its size class for a pool block, the raw allocator's answer
   * for a raw block.
   *
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_POINTER` / `ERR_TSMALLOC_DOUBLE_FREE` for a
   *   pointer that is not a live block; `ERR_TSMALLOC_INVALID_OPTION` for a raw block when the raw
   *   allocator has no `usableSize`
   */
  usableSize(p: number): number {
    requireAddress(p, "usableSize");
    return this.#shared ? this.#inspect(() => this.#usableSize(p)) : this.#usableSize(p);
  }

  #usableSize(p: number): number {
    const u32 = this.memory.u32;
    if (this.#slot !== 0 && p !== 0) {
      const owner = this.#remoteOwner(p);
      if (owner !== 0) {
        const pool = p - (p & this.#poolMask);
        this.#checkRemoteBlock(u32, p, pool, owner, "usableSize");
        return (u32[(pool >>> 2) + this.#szidxWord]! + 1) << this.#shift;
      }
    }
    if (p === 0 || !this.#inArena(u32, p)) {
      if (typeof this.raw.usableSize !== "function") throw optionError(`usableSize: the raw allocator "${this.raw.name}" cannot size its blocks`);
      return this.raw.usableSize(p);
    }
    const pool = p - (p & this.#poolMask);
    this.#checkBlock(u32, p, pool, "usableSize");
    return (u32[(pool >>> 2) + this.#szidxWord]! + 1) << this.#shift;
  }

  /**
   * CPython's `address_in_range`: true when `p` lies in one of this heap's arenas (a block, a
   * free block, a pool header), false for anything else (raw blocks, other memory, non-numbers).
   * O(1) through the arena map; never throws.
   */
  owns(p: number): boolean {
    if (!isAddress(p)) return false;
    if (this.#slot !== 0) {
      // every slot's arenas: the blocks this heap's free takes
      const u8 = this.memory.u8;
      return u8[this.#pageSlots + (p >>> 16)] !== 0 && (u8[this.#pageMap + (p >>> 16)]! & PAGE_OWNER_MASK) === RegionOwner.Arena;
    }
    return this.#inArena(this.memory.u32, p);
  }

  /**
   * `sys.getallocatedblocks()`: blocks in pools plus the raw blocks pymalloc handed out (counted
   * like CPython's `raw_allocated_blocks`). Walks every carved pool.
   */
  allocatedBlocks(): number {
    return this.#inspect(() => countAllocatedBlocks(this));
  }

  /** Validates every invariant of the heap (see the README's list). Never throws for a broken heap. */
  check(): HeapCheck {
    return this.#inspect(() => checkHeap(this));
  }

  /** Every number `sys._debugmallocstats()` prints for pymalloc, plus the {@link AllocatorStats}. */
  stats(): PymallocStats & AllocatorStats {
    return this.#inspect(() => collectStats(this));
  }

  /**
   * The text `sys._debugmallocstats()` writes for pymalloc: the class table, the arena counters,
   * the byte accounting whose `Total` equals arenas × arena size, and the arena map's cost.
   */
  formatStats(): string {
    return formatStats(this.stats());
  }

  /** The arena allocator in use (CPython's `PyObject_GetArenaAllocator`). */
  getArenaAllocator(): ArenaAllocator {
    return this.#arenaAllocator;
  }

  /**
   * Replaces the arena allocator (CPython's `PyObject_SetArenaAllocator`). Arenas already held
   * are given back to the new allocator when they are released, so it must accept them: wrap the
   * previous one (`getArenaAllocator()`) to observe or count.
   *
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` unless it has `alloc` and `free`,
   *   and for the heap of a heap slot
   */
  setArenaAllocator(allocator: ArenaAllocator): void {
    requireArenaAllocator(allocator);
    if (this.#slot !== 0) throw optionError("setArenaAllocator: a heap slot's heap keeps the default arena allocator (its arenas are marked in the slot table)");
    this.#arenaAllocator = allocator;
    this.#markForeignArenas();
  }

  // ---------------------------------------------------------------------------------------------
  // Allocation

  #lockedMalloc(nbytes: number): number {
    this.#lock();
    try {
      return this.#malloc(nbytes);
    } finally {
      this.#unlock();
    }
  }

  /** `_PyObject_Malloc`: a pool block, else (size 0, large, or no arena) a raw block. */
  #malloc(nbytes: number): number {
    if ((nbytes - 1) >>> 0 < this.#threshold) {
      const p = this.#poolAlloc(this.memory.u32, (nbytes - 1) >>> this.#shift);
      if (p !== 0) return p;
    }
    const p = this.raw.malloc(nbytes);
    if (p !== 0) this.#countRaw(1);
    return p;
  }

  /** `pymalloc_alloc` for size class `size`: the head pool of `usedpools[size]`, or a new pool. */
  #poolAlloc(u32: Uint32Array, size: number): number {
    // usedpools[2*size] is the nextpool of a virtual pool header two pointers (16 or 8 bytes) before it
    const header = this.#usedpools + (size << 4) - this.#nextpoolOffset;
    const pool = u32[(header + this.#nextpoolOffset) >>> 2]!;
    if (pool !== header) {
      const pw = pool >>> 2;
      u32[pw + POOL_COUNT_WORD] = u32[pw + POOL_COUNT_WORD]! + 1;
      const bp = u32[pw + this.#freeblockWord]!;
      const next = u32[bp >>> 2]!;
      u32[pw + this.#freeblockWord] = next;
      u32[(bp >>> 2) + 1] = 0; // clear the freed mark (see #freeBlock)
      if (next === 0) this.#poolExtend(u32, pool, size);
      return bp;
    }
    return this.#allocateFromNewPool(size);
  }

  /**
   * `pymalloc_pool_extend`: the free list ran out. Carve the next never-used block if there is
   * one; otherwise the pool is full and leaves `usedpools`.
   */
  #poolExtend(u32: Uint32Array, pool: number, size: number): void {
    const pw = pool >>> 2;
    const nextoffset = u32[pw + this.#nextoffsetWord]!;
    if (nextoffset <= u32[pw + this.#maxnextoffsetWord]!) {
      const block = pool + nextoffset;
      u32[pw + this.#freeblockWord] = block;
      u32[pw + this.#nextoffsetWord] = nextoffset + ((size + 1) << this.#shift);
      u32[block >>> 2] = 0;
      u32[(block >>> 2) + 1] = block ^ this.#salt; // on a free list: marked free
      return;
    }
    const next = u32[pw + this.#nextpoolWord]!;
    const prev = u32[pw + this.#prevpoolWord]!;
    u32[(next >>> 2) + this.#prevpoolWord] = prev;
    u32[(prev >>> 2) + this.#nextpoolWord] = next;
  }

  /**
   * `allocate_from_new_pool`: no pool of class `size` has a free block. Take a pool from the head
   * of `usable_arenas` (a new arena when the list is empty): one of its empty pools if it has
   * any, else the next never-carved one; link it at the front of `usedpools[size]`.
   *
   * @returns the first block, or 0 when no arena can be had
   */
  #allocateFromNewPool(size: number): number {
    const sw = this.#stateWord;
    let u32 = this.memory.u32;
    if (this.#slot !== 0 && u32[this.#inbox] !== 0 && this.#drain() !== 0) {
      // what other threads freed is back in its pools: one of them may serve this class now
      u32 = this.memory.u32;
      const header = this.#usedpools + (size << 4) - this.#nextpoolOffset;
      if (u32[(header + this.#nextpoolOffset) >>> 2] !== header) return this.#poolAlloc(u32, size);
    }
    let arena = u32[sw + STATE_USABLE_ARENAS_WORD]!;
    if (arena === 0 && this.#onNewArena !== undefined) {
      // CPython prints its statistics here (PYTHONMALLOCSTATS); a hook may also allocate or free
      // through this heap, so the list is read again afterwards
      this.#onNewArena(this);
      u32 = this.memory.u32;
      arena = u32[sw + STATE_USABLE_ARENAS_WORD]!;
    }
    if (arena === 0) {
      arena = this.#newArena();
      if (arena === 0) return 0;
      u32 = this.memory.u32;
      u32[sw + STATE_USABLE_ARENAS_WORD] = arena;
      u32[(arena >>> 2) + ARENA_NEXTARENA_WORD] = 0;
      u32[(arena >>> 2) + ARENA_PREVARENA_WORD] = 0;
      u32[this.#nfp2lastaWord(u32[(arena >>> 2) + ARENA_NFREEPOOLS_WORD]!)] = arena;
    }
    const aw = arena >>> 2;
    // The head arena already has the fewest free pools, so taking one keeps the list sorted;
    // only the fingers move.
    const nfp = u32[aw + ARENA_NFREEPOOLS_WORD]!;
    if (u32[this.#nfp2lastaWord(nfp)] === arena) u32[this.#nfp2lastaWord(nfp)] = 0;
    if (nfp > 1) u32[this.#nfp2lastaWord(nfp - 1)] = arena;

    let pool = u32[aw + ARENA_FREEPOOLS_WORD]!;
    if (pool !== 0) {
      u32[aw + ARENA_FREEPOOLS_WORD] = u32[(pool >>> 2) + this.#nextpoolWord]!;
    } else {
      pool = u32[aw + ARENA_POOL_ADDRESS_WORD]!;
      u32[(pool >>> 2) + this.#arenaindexWord] = (arena - u32[sw + STATE_ARENAS_WORD]!) / ARENA_OBJECT_SIZE;
      u32[(pool >>> 2) + this.#szidxWord] = DUMMY_SIZE_IDX;
      u32[aw + ARENA_POOL_ADDRESS_WORD] = pool + this.#poolSize;
    }
    u32[aw + ARENA_NFREEPOOLS_WORD] = nfp - 1;
    if (nfp === 1) {
      // wholly allocated: it leaves usable_arenas
      const next = u32[aw + ARENA_NEXTARENA_WORD]!;
      u32[sw + STATE_USABLE_ARENAS_WORD] = next;
      if (next !== 0) u32[(next >>> 2) + ARENA_PREVARENA_WORD] = 0;
    }

    // front-link into usedpools[size], which is empty: next == prev == its virtual header
    const pw = pool >>> 2;
    const header = this.#usedpools + (size << 4) - this.#nextpoolOffset;
    u32[pw + this.#nextpoolWord] = header;
    u32[pw + this.#prevpoolWord] = header;
    u32[(header >>> 2) + this.#nextpoolWord] = pool;
    u32[(header >>> 2) + this.#prevpoolWord] = pool;
    if (u32[pw + this.#szidxWord] === size) {
      // it last held blocks of this class and its free list is still good: it is now the head of
      // usedpools[size], so the fast path takes its first block (and counts it)
      return this.#poolAlloc(u32, size);
    }
    u32[pw + POOL_COUNT_WORD] = 1;
    // (re)initialise: return the first block, put the second on the free list, carve lazily
    const blockSize = (size + 1) << this.#shift;
    u32[pw + this.#szidxWord] = size;
    const bp = pool + this.#overhead;
    u32[pw + this.#nextoffsetWord] = this.#overhead + 2 * blockSize;
    u32[pw + this.#maxnextoffsetWord] = this.#poolSize - blockSize;
    u32[pw + this.#freeblockWord] = bp + blockSize;
    u32[(bp + blockSize) >>> 2] = 0;
    u32[((bp + blockSize) >>> 2) + 1] = (bp + blockSize) ^ this.#salt;
    u32[(bp >>> 2) + 1] = 0;
    return bp;
  }

  /**
   * `new_arena` (the caller has run the statistics hook): gets an arena from the arena allocator,
   * takes an arena object off `unused_arena_objects` (doubling the arenas vector through the raw
   * allocator when there is none), marks the arena in the arena map and sets up its pool count.
   *
   * @returns the arena object's address, or 0 when the arena or the vector cannot be had
   */
  #newArena(): number {
    const sw = this.#stateWord;
    // CPython grows the vector first; asking for the arena first means that an arena allocator
    // that fails or throws leaves the heap exactly as it was
    const address = this.#arenaAllocator.alloc(this.#arenaSize);
    if (address === 0) return 0;
    this.#requireArena(address);
    let u32 = this.memory.u32;
    if (u32[sw + STATE_UNUSED_ARENA_OBJECTS_WORD] === 0 && !this.#growArenaObjects()) {
      this.#arenaAllocator.free(address, this.#arenaSize);
      return 0;
    }
    u32 = this.memory.u32;
    const arena = u32[sw + STATE_UNUSED_ARENA_OBJECTS_WORD]!;
    const aw = arena >>> 2;
    u32[sw + STATE_UNUSED_ARENA_OBJECTS_WORD] = u32[aw + ARENA_NEXTARENA_WORD]!;
    this.#markArena(u32, address, true);
    u32[aw + ARENA_ADDRESS_WORD] = address;
    const current = u32[sw + STATE_NARENAS_CURRENTLY_ALLOCATED_WORD]! + 1;
    u32[sw + STATE_NARENAS_CURRENTLY_ALLOCATED_WORD] = current;
    u32[sw + STATE_NTIMES_ARENA_ALLOCATED_WORD] = u32[sw + STATE_NTIMES_ARENA_ALLOCATED_WORD]! + 1;
    if (current > u32[sw + STATE_NARENAS_HIGHWATER_WORD]!) u32[sw + STATE_NARENAS_HIGHWATER_WORD] = current;
    u32[aw + ARENA_FREEPOOLS_WORD] = 0;
    // pools start at the first pool boundary: an unaligned arena loses one pool
    let nfreepools = this.#maxPools;
    let poolAddress = address;
    const excess = address & this.#poolMask;
    if (excess !== 0) {
      u32[sw + STATE_FLAGS_WORD] = u32[sw + STATE_FLAGS_WORD]! | FLAG_FOREIGN_ARENAS;
      nfreepools--;
      poolAddress += this.#poolSize - excess;
    }
    u32[aw + ARENA_POOL_ADDRESS_WORD] = poolAddress;
    u32[aw + ARENA_NFREEPOOLS_WORD] = nfreepools;
    u32[aw + ARENA_NTOTALPOOLS_WORD] = nfreepools;
    if (this.#slot !== 0) this.#slots!.assignPages(address, this.#arenaSize, this.#slot);
    return arena;
  }

  /**
   * Doubles the arenas vector (16 slots the first time) through the raw allocator's `realloc`
   * and threads the new slots onto `unused_arena_objects`.
   *
   * @returns false when the raw allocator cannot provide it (nothing changed then)
   */
  #growArenaObjects(): boolean {
    const sw = this.#stateWord;
    let u32 = this.memory.u32;
    const maxarenas = u32[sw + STATE_MAXARENAS_WORD]!;
    const numarenas = maxarenas === 0 ? INITIAL_ARENA_OBJECTS : maxarenas * 2;
    if (numarenas > MAX_ARENA_OBJECTS) return false;
    // No pointer into the old vector survives the move: usable_arenas, unused_arena_objects and
    // every nfp2lasta finger are empty whenever a new arena is needed, and pools hold indices.
    const vector = this.raw.realloc(u32[sw + STATE_ARENAS_WORD]!, numarenas * ARENA_OBJECT_SIZE);
    if (vector === 0) return false;
    u32 = this.memory.u32;
    u32.fill(0, (vector + maxarenas * ARENA_OBJECT_SIZE) >>> 2, (vector + numarenas * ARENA_OBJECT_SIZE) >>> 2);
    for (let i = maxarenas; i < numarenas - 1; i++) {
      u32[((vector + i * ARENA_OBJECT_SIZE) >>> 2) + ARENA_NEXTARENA_WORD] = vector + (i + 1) * ARENA_OBJECT_SIZE;
    }
    u32[sw + STATE_ARENAS_WORD] = vector;
    u32[sw + STATE_MAXARENAS_WORD] = numarenas;
    u32[sw + STATE_UNUSED_ARENA_OBJECTS_WORD] = vector + maxarenas * ARENA_OBJECT_SIZE;
    return true;
  }

  /** Refuses an arena the arena allocator placed where pymalloc cannot use it. */
  #requireArena(address: number): void {
    if (!isAddress(address) || address + this.#arenaSize > this.memory.byteLength || address % this.layout.alignment !== 0) {
      if (isAddress(address) && address !== 0) {
        try {
          this.#arenaAllocator.free(address, this.#arenaSize);
        } catch {
          // it was not the allocator's to take back either; the error below says why
        }
      }
      throw new TsmallocError(
        ErrorCode.InvalidPointer,
        `Pymalloc: the arena allocator returned ${describeValue(address)}, which is not a ${this.layout.alignment}-byte aligned address of ${this.#arenaSize} bytes inside the memory`,
      );
    }
  }

  /**
   * `arena_map_mark_used`: an aligned arena sets its chunk's `tail_hi` to -1 (all of it); an
   * unaligned one covers the top of one chunk (`tail_hi` = its offset) and the bottom of the next
   * (`tail_lo` = the same offset).
   *
   *     chunk k                          chunk k+1
   *     +----------------+===============+===============+----------------+
   *     |  not an arena  | arena ........|...............|  not an arena  |
   *     +----------------+===============+===============+----------------+
   *                      ^ tail_hi(k)                    ^ tail_lo(k+1)
   */
  #markArena(u32: Uint32Array, address: number, used: boolean): void {
    const entry = this.#mapWord + ((address >>> this.#arenaBits) << 1);
    const tail = address & this.#arenaMask;
    if (tail === 0) {
      u32[entry] = used ? 0xffffffff : 0;
    } else {
      u32[entry] = used ? tail : 0;
      u32[entry + 3] = used ? tail : 0; // tail_lo of the next chunk
    }
  }

  /** `address_in_range` through the arena map. */
  #inArena(u32: Uint32Array, p: number): boolean {
    const entry = this.#mapWord + ((p >>> this.#arenaBits) << 1);
    const hi = u32[entry]! | 0;
    const tail = p & this.#arenaMask;
    return tail < (u32[entry + 1]! | 0) || (tail >= hi && hi !== 0);
  }

  // ---------------------------------------------------------------------------------------------
  // Freeing

  /** `_PyObject_Free`: back to its pool, or to the raw allocator. */
  #free(p: number): void {
    const u32 = this.memory.u32;
    if (!this.#inArena(u32, p)) {
      // a heap slot's heap: another slot's arena block, or a raw block (its own or another's)
      if (this.#slot !== 0) this.#freeNotInArena(p);
      else {
        this.raw.free(p);
        this.#countRaw(-1);
      }
      return;
    }
    const pool = p - (p & this.#poolMask);
    if (this.#checks) this.#checkBlock(u32, p, pool, "free");
    this.#freeBlock(u32, p, pool);
  }

  // ---------------------------------------------------------------------------------------------
  // Free-threading: the heap of a heap slot

  /**
   * The slot of another slot's pymalloc heap whose arena holds `p`, or 0 when `p` lies in no other
   * slot's arena (the caller's own block, a raw block, or no block). Two byte loads (the page's
   * slot and owner) and, after the first free into that slot, one load of the cached list.
   */
  #remoteOwner(p: number): number {
    const u32 = this.memory.u32;
    return this.#arenaOwner(u32, p, byteAt(u32, this.#pageSlots + (p >>> 16)));
  }

  /**
   * {@link #remoteOwner} for `p`, whose page's slot the caller read already (`slot`). The page
   * map's byte is read through the word view the caller holds (a view getter is a call where V8
   * runs out of inlining budget, and the remote free's path would take three).
   */
  #arenaOwner(u32: Uint32Array, p: number, slot: number): number {
    if (slot === this.#slot || slot === 0 || (byteAt(u32, this.#pageMap + (p >>> 16)) & PAGE_OWNER_MASK) !== RegionOwner.Arena) return 0;
    return this.#remoteInbox[slot] !== 0 || this.#openRemote(slot) ? slot : 0;
  }

  /**
   * Reads slot `slot`'s pymalloc heap from the slot table into the per-slot cache, on the first
   * free into it. @returns false when the slot has none (its arena pages are then no pool's)
   */
  #openRemote(slot: number): boolean {
    const state = slot > this.#slots!.count ? 0 : this.#slots!.heap(slot, HeapKind.Pymalloc);
    if (state === 0) return false;
    this.#remoteSalt[slot] = this.memory.u32[(state >>> 2) + STATE_SALT_WORD]! | 0;
    this.#remoteInbox[slot] = (state >>> 2) + STATE_INBOX_WORD;
    return true;
  }

  /**
   * free() of a heap slot's heap for a block in none of its arenas (its own pool blocks take
   * #free's path of any heap, with no atomic operation): the page's slot says whose it is.
   * Another slot's pool block goes onto that heap's remote-free list; a raw block (this slot's or
   * another's) to the raw allocator, whose own free finds its owner.
   *
   *     the page's slot and owner (2 byte loads) -> the slot's cached list (1 load) -> the pool
   *     header, the block's mark word and the cached salt (5 loads, one branch) -> mark and link
   *     (2 stores) -> one compareExchange
   */
  #freeNotInArena(p: number): void {
    // the page's slot is read before the raw free: a large block's region, unmapped, is nobody's
    // after it. This slot's own raw block (the common case) needs nothing more.
    const u32 = this.memory.u32;
    const slot = byteAt(u32, this.#pageSlots + (p >>> 16));
    if (slot === this.#slot) {
      this.raw.free(p);
      this.#countRaw(-1);
      return;
    }
    const owner = this.#arenaOwner(u32, p, slot);
    if (owner === 0) {
      this.raw.free(p);
      this.#countRawOf(slot);
      return;
    }
    this.#checkRemoteBlock(u32, p, p - (p & this.#poolMask), owner, "free");
    this.#push(u32, owner, p);
  }

  /**
   * realloc() of a heap slot's heap for a block in none of its arenas (its own pool blocks take
   * #realloc's path of any heap). Another slot's pool block stays where it is when its size class
   * still fits (nothing is written), and otherwise moves into this heap, the old block going back
   * to its owner's remote-free list; a raw block is the raw allocator's to move.
   */
  #reallocNotInArena(p: number, nbytes: number): number {
    const owner = this.#remoteOwner(p);
    if (owner === 0) {
      const slot = this.memory.u8[this.#pageSlots + (p >>> 16)]!;
      const q = this.raw.realloc(p, nbytes);
      if (q !== 0 && q !== p && slot !== this.#slot) {
        // the raw block now lies in this slot's heap: it counts here
        this.#countRawOf(slot);
        this.#countRaw(1);
      }
      return q;
    }
    const pool = p - (p & this.#poolMask);
    this.#checkRemoteBlock(this.memory.u32, p, pool, owner, "realloc");
    return this.#reallocBlock(p, pool, nbytes, owner);
  }

  /**
   * Throws unless `p` (in an arena of slot `owner`'s heap, in `pool`) is a live block that is not
   * on a free list or a remote-free list. Its owner may be changing the pool while this runs, but
   * not what this reads while the block is live: the pool's size class and header (its count is
   * at least 1), a `nextoffset` that only grows. A block that carries the freed mark is taken for a
   * freed one (a live block whose data equals the mark by chance, odds 2^-32, is refused too: only
   * the owner can walk its lists). One branch when all is well, as in #checkBlock; the reasons are
   * worked out apart (#rejectRemoteBlock), so that nothing is allocated here.
   */
  #checkRemoteBlock(u32: Uint32Array, p: number, pool: number, owner: number, fn: string): void {
    const pw = pool >>> 2;
    const offset = p - pool - this.#overhead;
    const szidx = u32[pw + this.#szidxWord]!;
    if (
      offset >= 0 && szidx < this.#numClasses && u32[pw + POOL_COUNT_WORD] !== 0 &&
      offset + this.#overhead < u32[pw + this.#nextoffsetWord]! &&
      ((offset * this.#inverseSize[szidx]! + 0.5) | 0) * ((szidx + 1) << this.#shift) === offset &&
      (u32[(p >>> 2) + 1]! | 0) !== (p ^ this.#remoteSalt[owner]!)
    ) {
      return;
    }
    this.#rejectRemoteBlock(u32, p, pool, fn);
  }

  /** Works out why `p` (in another slot's arena, in `pool`) is not a live block and throws the matching error. */
  #rejectRemoteBlock(u32: Uint32Array, p: number, pool: number, fn: string): never {
    const pw = pool >>> 2;
    const offset = p - pool - this.#overhead;
    const szidx = u32[pw + this.#szidxWord]!;
    const invalid = (why: string): never => {
      throw new TsmallocError(ErrorCode.InvalidPointer, `${fn}: ${formatAddress(p)} is not a live pymalloc block: ${why}`, { address: p });
    };
    if (offset < 0) invalid(`it points into the header of pool ${formatAddress(pool)}`);
    if (szidx >= this.#numClasses) invalid(`pool ${formatAddress(pool)} was never used`);
    const blockSize = (szidx + 1) << this.#shift;
    if (offset % blockSize !== 0) invalid(`it points ${offset % blockSize} bytes into the ${blockSize}-byte block at ${formatAddress(p - (offset % blockSize))}`);
    if (offset + this.#overhead >= u32[pw + this.#nextoffsetWord]!) invalid(`the ${blockSize}-byte block there was never allocated`);
    // a carved block of a pool that holds none in use (freed, and its pool emptied), or with the mark
    throw new TsmallocError(ErrorCode.DoubleFree, `${fn}: ${formatAddress(p)} was already freed: it is on a free list of its heap, or waits on its remote-free list`, { address: p });
  }

  /**
   * Pushes the checked block `p` onto the remote-free list of slot `owner`'s heap: the freed mark
   * and the link go into the block (the caller's to write), then one compareExchange publishes it.
   * All through the caller's word view (Atomics work on a Uint32Array too): no view getter here.
   */
  #push(u32: Uint32Array, owner: number, p: number): void {
    const index = this.#remoteInbox[owner]!;
    const w = p >>> 2;
    u32[w + 1] = p ^ this.#remoteSalt[owner]!;
    // a plain read of the head is enough: the compareExchange checks it
    let head = u32[index]!;
    for (;;) {
      u32[w] = head;
      const seen = Atomics.compareExchange(u32, index, head, p);
      if (seen === head) return;
      head = seen;
    }
  }

  /**
   * Puts every block other threads pushed onto this heap's remote-free list back into its pool:
   * one exchange takes the whole list. A block that is not what the list promises (a live block of
   * this heap's arenas with the freed mark: something wrote to it after it was freed) stops the
   * drain; it and the rest of the list are left alone and counted, and check() reports them.
   *
   * @returns the number of blocks freed
   */
  #drain(): number {
    let p = Atomics.exchange(this.memory.i32, this.#inbox, 0) >>> 0;
    let freed = 0;
    while (p !== 0) {
      const u32 = this.memory.u32;
      const pool = p - (p & this.#poolMask);
      const pw = pool >>> 2;
      const offset = p - pool - this.#overhead;
      const szidx = u32[pw + this.#szidxWord]!;
      if (
        this.memory.u8[this.#pageSlots + (p >>> 16)] !== this.#slot || !this.#inArena(u32, p) ||
        offset < 0 || szidx >= this.#numClasses || u32[pw + POOL_COUNT_WORD] === 0 ||
        offset % ((szidx + 1) << this.#shift) !== 0 || offset + this.#overhead >= u32[pw + this.#nextoffsetWord]! ||
        (u32[(p >>> 2) + 1]! | 0) !== (p ^ this.#salt)
      ) {
        const word = this.#stateWord + STATE_INBOX_DAMAGE_WORD;
        u32[word] = u32[word]! + 1;
        break;
      }
      const next = u32[p >>> 2]!;
      this.#freeBlock(u32, p, pool);
      freed++;
      p = next;
    }
    return freed;
  }

  /** True when `p` waits on this heap's remote-free list (the owner's walk; pushes only prepend). */
  #pending(u32: Uint32Array, p: number): boolean {
    if (this.#slot === 0) return false;
    for (let q = Atomics.load(this.memory.i32, this.#inbox) >>> 0; q !== 0 && q >>> 2 < u32.length; q = u32[q >>> 2]!) {
      if (q === p) return true;
    }
    return false;
  }

  /**
   * Puts back into their pools, now, the blocks other threads freed into this heap slot's heap
   * (they wait on its remote-free list until the heap next needs a new pool). For a thread that
   * stops allocating, before it lets its slot go. Does nothing for a heap of no slot.
   *
   * @returns the number of blocks freed
   */
  drainRemoteFrees(): number {
    return this.#slot === 0 ? 0 : this.#drain();
  }

  /**
   * `pymalloc_free` for a block known to be live: push it on its pool's free list; a full pool
   * returns to the front of `usedpools`, an empty one goes to its arena's `freepools`.
   */
  #freeBlock(u32: Uint32Array, p: number, pool: number): void {
    const pw = pool >>> 2;
    const lastfree = u32[pw + this.#freeblockWord]!;
    u32[p >>> 2] = lastfree;
    // the freed mark makes a second free of this block cheap to recognise
    u32[(p >>> 2) + 1] = p ^ this.#salt;
    u32[pw + this.#freeblockWord] = p;
    const count = u32[pw + POOL_COUNT_WORD]! - 1;
    u32[pw + POOL_COUNT_WORD] = count;
    if (lastfree === 0) {
      this.#insertToUsedpool(u32, pool);
      return;
    }
    if (count === 0) this.#insertToFreepool(u32, pool);
  }

  /** `insert_to_usedpool`: a full pool got a free block; link it at the front of its class. */
  #insertToUsedpool(u32: Uint32Array, pool: number): void {
    const pw = pool >>> 2;
    const header = this.#usedpools + (u32[pw + this.#szidxWord]! << 4) - this.#nextpoolOffset;
    const next = u32[(header >>> 2) + this.#nextpoolWord]!;
    u32[pw + this.#nextpoolWord] = next;
    u32[pw + this.#prevpoolWord] = header;
    u32[(next >>> 2) + this.#prevpoolWord] = pool;
    u32[(header >>> 2) + this.#nextpoolWord] = pool;
  }

  /**
   * `insert_to_freepool`: the pool is empty. Move it to its arena's `freepools`, then keep
   * `usable_arenas` sorted by free pools (fewest first) in O(1) with the `nfp2lasta` fingers:
   *
   * 1. the arena is wholly free and not the last in the list: release it to the arena allocator
   *    (the last one is kept, so a loop that allocates and frees does not thrash);
   * 2. it had no free pool: it joins the list at the head;
   * 3. it now has more free pools than the arena after it: move it after the last arena that had
   *    its old count;
   * 4. it already was that last arena: nothing moves.
   */
  #insertToFreepool(u32: Uint32Array, pool: number): void {
    const sw = this.#stateWord;
    const pw = pool >>> 2;
    const next = u32[pw + this.#nextpoolWord]!;
    const prev = u32[pw + this.#prevpoolWord]!;
    u32[(next >>> 2) + this.#prevpoolWord] = prev;
    u32[(prev >>> 2) + this.#nextpoolWord] = next;

    const arena = u32[sw + STATE_ARENAS_WORD]! + u32[pw + this.#arenaindexWord]! * ARENA_OBJECT_SIZE;
    const aw = arena >>> 2;
    u32[pw + this.#nextpoolWord] = u32[aw + ARENA_FREEPOOLS_WORD]!;
    u32[aw + ARENA_FREEPOOLS_WORD] = pool;
    let nf = u32[aw + ARENA_NFREEPOOLS_WORD]!;
    // if this arena is the rightmost with nf free pools, the finger moves left (or clears)
    const lastnf = nf === 0 ? 0 : u32[this.#nfp2lastaWord(nf)]!;
    if (lastnf === arena) {
      const left = u32[aw + ARENA_PREVARENA_WORD]!;
      u32[this.#nfp2lastaWord(nf)] = left !== 0 && u32[(left >>> 2) + ARENA_NFREEPOOLS_WORD] === nf ? left : 0;
    }
    nf++;
    u32[aw + ARENA_NFREEPOOLS_WORD] = nf;

    const nextArena = u32[aw + ARENA_NEXTARENA_WORD]!;
    if (nf === u32[aw + ARENA_NTOTALPOOLS_WORD] && nextArena !== 0) {
      // case 1: unlink, recycle the arena object, forget the arena, give it back
      const prevArena = u32[aw + ARENA_PREVARENA_WORD]!;
      if (prevArena === 0) u32[sw + STATE_USABLE_ARENAS_WORD] = nextArena;
      else u32[(prevArena >>> 2) + ARENA_NEXTARENA_WORD] = nextArena;
      u32[(nextArena >>> 2) + ARENA_PREVARENA_WORD] = prevArena;
      u32[aw + ARENA_NEXTARENA_WORD] = u32[sw + STATE_UNUSED_ARENA_OBJECTS_WORD]!;
      u32[sw + STATE_UNUSED_ARENA_OBJECTS_WORD] = arena;
      const address = u32[aw + ARENA_ADDRESS_WORD]!;
      this.#markArena(u32, address, false);
      u32[aw + ARENA_ADDRESS_WORD] = 0;
      u32[sw + STATE_NARENAS_CURRENTLY_ALLOCATED_WORD] = u32[sw + STATE_NARENAS_CURRENTLY_ALLOCATED_WORD]! - 1;
      if (this.#slot !== 0) this.#slots!.assignPages(address, this.#arenaSize, 0);
      this.#arenaAllocator.free(address, this.#arenaSize);
      return;
    }
    if (nf === 1) {
      // case 2: it was full, so on no list; it has the fewest free pools now
      const head = u32[sw + STATE_USABLE_ARENAS_WORD]!;
      u32[aw + ARENA_NEXTARENA_WORD] = head;
      u32[aw + ARENA_PREVARENA_WORD] = 0;
      if (head !== 0) u32[(head >>> 2) + ARENA_PREVARENA_WORD] = arena;
      u32[sw + STATE_USABLE_ARENAS_WORD] = arena;
      if (u32[this.#nfp2lastaWord(1)] === 0) u32[this.#nfp2lastaWord(1)] = arena;
      return;
    }
    if (u32[this.#nfp2lastaWord(nf)] === 0) u32[this.#nfp2lastaWord(nf)] = arena;
    if (arena === lastnf) return; // case 4
    // case 3: slide it right, to just after lastnf
    const prevArena = u32[aw + ARENA_PREVARENA_WORD]!;
    if (prevArena !== 0) u32[(prevArena >>> 2) + ARENA_NEXTARENA_WORD] = nextArena;
    else u32[sw + STATE_USABLE_ARENAS_WORD] = nextArena;
    u32[(nextArena >>> 2) + ARENA_PREVARENA_WORD] = prevArena;
    const after = u32[(lastnf >>> 2) + ARENA_NEXTARENA_WORD]!;
    u32[aw + ARENA_PREVARENA_WORD] = lastnf;
    u32[aw + ARENA_NEXTARENA_WORD] = after;
    if (after !== 0) u32[(after >>> 2) + ARENA_PREVARENA_WORD] = arena;
    u32[(lastnf >>> 2) + ARENA_NEXTARENA_WORD] = arena;
  }

  // ---------------------------------------------------------------------------------------------
  // Reallocation

  /** `_PyObject_Realloc` for a non-NULL pointer. */
  #realloc(p: number, nbytes: number): number {
    const u32 = this.memory.u32;
    if (!this.#inArena(u32, p)) return this.#slot !== 0 ? this.#reallocNotInArena(p, nbytes) : this.raw.realloc(p, nbytes);
    const pool = p - (p & this.#poolMask);
    if (this.#checks) this.#checkBlock(u32, p, pool, "realloc");
    return this.#reallocBlock(p, pool, nbytes, 0);
  }

  /**
   * The rest of `_PyObject_Realloc` for the live pool block `p` (in `pool`): it stays where it is
   * unless it must grow out of its class or shrinks by a quarter or more; else it moves to a new
   * block (of this heap), and goes back to its pool, or onto the remote-free list of slot `owner`'s
   * heap when it is another slot's block (`owner` 0: this heap's own).
   */
  #reallocBlock(p: number, pool: number, nbytes: number, owner: number): number {
    let size = (this.memory.u32[(pool >>> 2) + this.#szidxWord]! + 1) << this.#shift;
    if (nbytes <= size) {
      // stays put unless it shrinks by a quarter or more; a shrink copies only nbytes
      if (4 * nbytes > 3 * size) return p;
      size = nbytes;
    }
    const bp = this.#malloc(nbytes);
    if (bp === 0) return 0;
    this.memory.u8.copyWithin(bp, p, p + size);
    if (owner === 0) this.#freeBlock(this.memory.u32, p, pool);
    else this.#push(this.memory.u32, owner, p);
    return bp;
  }

  // ---------------------------------------------------------------------------------------------
  // Validation

  /**
   * Throws unless `p` (inside an arena, in `pool`) is the start of a live block. O(1), and one
   * branch when all is well: `p` must be past the header of a pool in use, below `nextoffset`, on
   * a block boundary of a valid size class, and must not carry the freed mark (every block on a
   * free list does); a block that carries the mark, or an arena the default arena allocator did
   * not make, takes the full check below. (Never-carved pools of the default allocator's arenas
   * are zeroed: `nextoffset` 0 refuses them.)
   */
  #checkBlock(u32: Uint32Array, p: number, pool: number, fn: string): void {
    const pw = pool >>> 2;
    const offset = p - pool - this.#overhead;
    const szidx = u32[pw + this.#szidxWord]!;
    if (
      offset >= 0 && szidx < this.#numClasses && u32[pw + POOL_COUNT_WORD] !== 0 &&
      offset + this.#overhead < u32[pw + this.#nextoffsetWord]! &&
      ((offset * this.#inverseSize[szidx]! + 0.5) | 0) * ((szidx + 1) << this.#shift) === offset &&
      (u32[(p >>> 2) + 1]! | 0) !== (p ^ this.#salt) &&
      (u32[this.#stateWord + STATE_FLAGS_WORD]! & FLAG_FOREIGN_ARENAS) === 0
    ) {
      return;
    }
    this.#checkBlockFully(u32, p, pool, fn);
  }

  /**
   * The full check: everything {@link #checkBlock} tests, plus that the pool lies in the carved
   * part of the arena its header names (a custom arena allocator may hand out memory that is not
   * zeroed, or an arena that is not pool-aligned, whose first partial pool is no pool at all), and
   * a free-list walk when the freed mark is present (live data may look like the mark).
   */
  #checkBlockFully(u32: Uint32Array, p: number, pool: number, fn: string): void {
    const pw = pool >>> 2;
    const offset = p - pool - this.#overhead;
    const szidx = u32[pw + this.#szidxWord]!;
    const arenaindex = u32[pw + this.#arenaindexWord]!;
    const sw = this.#stateWord;
    if (
      offset < 0 || szidx >= this.#numClasses || u32[pw + POOL_COUNT_WORD] === 0 ||
      offset + this.#overhead >= u32[pw + this.#nextoffsetWord]! || arenaindex >= u32[sw + STATE_MAXARENAS_WORD]! ||
      offset % ((szidx + 1) << this.#shift) !== 0
    ) {
      this.#rejectBlock(u32, p, pool, fn);
    }
    const aw = (u32[sw + STATE_ARENAS_WORD]! + arenaindex * ARENA_OBJECT_SIZE) >>> 2;
    const base = u32[aw + ARENA_ADDRESS_WORD]!;
    if (base === 0 || pool < base || pool >= u32[aw + ARENA_POOL_ADDRESS_WORD]!) this.#rejectBlock(u32, p, pool, fn);
    if ((u32[(p >>> 2) + 1]! | 0) === (p ^ this.#salt) && (this.#onFreeList(u32, p, pool) || this.#pending(u32, p))) this.#rejectBlock(u32, p, pool, fn);
  }

  /** Throws unless `p`, when it lies in an arena, is a live block (any size class, full check). */
  #requireLive(p: number, fn: string): void {
    const u32 = this.memory.u32;
    const owner = this.#slot === 0 ? 0 : this.#remoteOwner(p);
    if (owner !== 0) this.#checkRemoteBlock(u32, p, p - (p & this.#poolMask), owner, fn);
    else if (this.#inArena(u32, p)) this.#checkBlockFully(u32, p, p - (p & this.#poolMask), fn);
  }

  /** True when `p` is on its pool's free list (the walk is bounded by the pool's block count). */
  #onFreeList(u32: Uint32Array, p: number, pool: number): boolean {
    let block = u32[(pool >>> 2) + this.#freeblockWord]!;
    for (let n = this.#poolSize >>> this.#shift; block !== 0 && n > 0; n--) {
      if (block === p) return true;
      if (block - pool >= this.#poolSize) return false;
      block = u32[block >>> 2]!;
    }
    return false;
  }

  /** Works out why `p` is not a live block and throws the matching error. */
  #rejectBlock(u32: Uint32Array, p: number, pool: number, fn: string): never {
    const pw = pool >>> 2;
    const offset = p - pool - this.#overhead;
    const where = `${fn}: ${formatAddress(p)}`;
    const invalid = (why: string): never => {
      throw new TsmallocError(ErrorCode.InvalidPointer, `${where} is not a live pymalloc block: ${why}`, { address: p });
    };
    const sw = this.#stateWord;
    const arenaindex = u32[pw + this.#arenaindexWord]!;
    const aw = arenaindex < u32[sw + STATE_MAXARENAS_WORD]! ? (u32[sw + STATE_ARENAS_WORD]! + arenaindex * ARENA_OBJECT_SIZE) >>> 2 : -1;
    const base = aw < 0 ? 0 : u32[aw + ARENA_ADDRESS_WORD]!;
    if (base === 0 || pool < base || pool >= u32[aw + ARENA_POOL_ADDRESS_WORD]!) {
      invalid(`it lies in a part of an arena that holds no pool in use`);
    }
    if (offset < 0) invalid(`it points into the header of pool ${formatAddress(pool)}`);
    const szidx = u32[pw + this.#szidxWord]!;
    if (szidx >= this.#numClasses) invalid(`pool ${formatAddress(pool)} was never used`);
    const size = (szidx + 1) << this.#shift;
    if (offset % size !== 0) {
      invalid(`it points ${offset % size} bytes into the ${size}-byte block at ${formatAddress(p - (offset % size))}`);
    }
    if (offset + this.#overhead >= u32[pw + this.#nextoffsetWord]!) invalid(`the ${size}-byte block there was never allocated`);
    if (this.#pending(u32, p)) {
      throw new TsmallocError(ErrorCode.DoubleFree, `${fn}: ${formatAddress(p)} was already freed: it waits on this heap's remote-free list`, { address: p });
    }
    // a carved block on its pool's free list: freed already (or carved ahead and never handed out)
    throw new TsmallocError(
      ErrorCode.DoubleFree,
      `${fn}: ${formatAddress(p)} was already freed (or never handed out): it is on the free list of pool ${formatAddress(pool)} (${size}-byte blocks)`,
      { address: p },
    );
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers

  /** From now on arenas may come unzeroed or unaligned: free and realloc check pools fully. */
  #markForeignArenas(): void {
    const word = this.#stateWord + STATE_FLAGS_WORD;
    const u32 = this.memory.u32;
    u32[word] = u32[word]! | FLAG_FOREIGN_ARENAS;
  }

  #nfp2lastaWord(nfreepools: number): number {
    return (this.#nfp2lasta >>> 2) + nfreepools;
  }

  #countRaw(delta: 1 | -1): void {
    const u32 = this.memory.u32;
    const word = this.#stateWord + STATE_RAW_ALLOCATED_BLOCKS_WORD;
    const count = u32[word]!;
    // a raw block freed here that pymalloc did not hand out must not wrap the counter
    if (delta > 0 || count > 0) u32[word] = count + delta;
  }

  /**
   * Counts out a raw block that this heap slot's heap freed or moved, from the heap of slot
   * `slot` (whose page held it): this heap's own count when it is its own block; another heap's
   * count is untouched by other threads (it stays a plain word), the frees of others go to a word
   * of their own (one Atomics.add).
   */
  #countRawOf(slot: number): void {
    if (slot === this.#slot) {
      this.#countRaw(-1);
      return;
    }
    const state = slot === 0 || slot > this.#slots!.count ? 0 : this.#slots!.heap(slot, HeapKind.Pymalloc);
    if (state !== 0) Atomics.add(this.memory.i32, (state >>> 2) + STATE_RAW_FREED_REMOTELY_WORD, 1);
  }

  #lock(): void {
    if (this.#lockDepth++ === 0) lockMutex(this.#lockWords, this.#stateWord + STATE_LOCK_WORD);
  }

  #unlock(): void {
    if (--this.#lockDepth === 0) unlockMutex(this.#lockWords, this.#stateWord + STATE_LOCK_WORD);
  }

  /** Runs a read-only walk under the lock (re-entrant: a hook may ask for statistics). */
  #inspect<T>(walk: () => T): T {
    if (!this.#shared) return walk();
    this.#lock();
    try {
      return walk();
    } finally {
      this.#unlock();
    }
  }
}

/** Allocates and initialises the state block and the arena map of a new heap. */
function createState(raw: Allocator, layout: PymallocLayout): number {
  const bytes = stateBytes(layout.numClasses, layout.maxPoolsInArena);
  const state = raw.calloc(1, bytes);
  if (state === 0) throw new TsmallocError(ErrorCode.OutOfMemory, `Pymalloc: the raw allocator cannot provide the ${bytes}-byte state block`);
  // the raw allocator's blocks have the layout's alignment at least, as C's malloc has CPython's
  if (state % layout.alignment !== 0) {
    raw.free(state);
    throw optionError(`raw allocator "${raw.name}" returned a block that is not ${layout.alignment}-byte aligned (${formatAddress(state)})`);
  }
  // one (tail_hi, tail_lo) pair per arena-sized chunk of the 32-bit address space
  const mapBytes = arenaMapBytes(layout);
  const map = raw.calloc(1, mapBytes);
  if (map === 0) {
    raw.free(state);
    throw new TsmallocError(ErrorCode.OutOfMemory, `Pymalloc: the raw allocator cannot provide the ${mapBytes}-byte arena map`);
  }
  const u32 = raw.memory.u32;
  const w = state >>> 2;
  u32[w + STATE_MAGIC_WORD] = STATE_MAGIC;
  u32[w + STATE_VERSION_WORD] = STATE_VERSION;
  u32[w + STATE_ALIGNMENT_WORD] = layout.alignment;
  u32[w + STATE_THRESHOLD_WORD] = layout.smallRequestThreshold;
  u32[w + STATE_POOL_SIZE_WORD] = layout.poolSize;
  u32[w + STATE_ARENA_SIZE_WORD] = layout.arenaSize;
  u32[w + STATE_POINTER_SIZE_WORD] = layout.pointerSize;
  u32[w + STATE_ARENA_MAP_WORD] = map;
  u32[w + STATE_ARENA_MAP_BYTES_WORD] = mapBytes;
  u32[w + STATE_SALT_WORD] = (Math.imul(state, 0x9e3779b1) ^ 0x5bd1e995) >>> 0;
  // every usedpools list starts empty: its virtual header points at itself both ways
  const usedpools = state + STATE_USEDPOOLS_OFFSET;
  const fields = poolHeaderFields(layout.pointerSize);
  for (let i = 0; i < layout.numClasses; i++) {
    const header = usedpools + (i << 4) - fields.nextpoolOffset;
    u32[(header >>> 2) + fields.nextpool] = header;
    u32[(header >>> 2) + fields.prevpool] = header;
  }
  return state;
}

function requireArenaAllocator(allocator: unknown): asserts allocator is ArenaAllocator {
  if (
    typeof allocator !== "object" || allocator === null ||
    typeof (allocator as ArenaAllocator).alloc !== "function" || typeof (allocator as ArenaAllocator).free !== "function"
  ) {
    throw optionError(`an arena allocator needs alloc(size) and free(address, size), got ${describeValue(allocator)}`);
  }
}

/** The owner bits of a page-map byte (see LinearMemory.pageMapOffset). */
const PAGE_OWNER_MASK = 0x3f;

/**
 * The byte at `address`, read through a word view: the memory is little-endian (as every typed
 * array on the platforms JavaScript runs on), so byte k of a word is bits 8k..8k+7.
 */
function byteAt(u32: Uint32Array, address: number): number {
  return (u32[address >>> 2]! >>> ((address & 3) << 3)) & 0xff;
}

/**
 * The heap slot of the heap whose state block is at `state` (0 in its slot word: none), its table
 * opened here.
 * @throws {@link TsmallocError} `ERR_TSMALLOC_INCOMPATIBLE` when the slot or its table is not what
 *   the state block records
 */
function slotOfState(memory: LinearMemory, state: number): HeapSlot | null {
  const u32 = memory.u32;
  const w = state >>> 2;
  const slot = u32[w + STATE_SLOT_WORD]!;
  if (slot === 0) return null;
  let table: HeapSlots;
  try {
    table = HeapSlots.attach(memory, u32[w + STATE_HEAP_SLOTS_WORD]!);
  } catch (error) {
    throw new TsmallocError(ErrorCode.Incompatible, `Pymalloc.attach: the heap at ${formatAddress(state)} names a heap-slot table that cannot be opened`, { address: state, cause: error });
  }
  if (slot > table.count || table.heap(slot, HeapKind.Pymalloc) !== state) {
    throw new TsmallocError(ErrorCode.Incompatible, `Pymalloc.attach: the heap at ${formatAddress(state)} is not the pymalloc heap of the slot it names`, { address: state });
  }
  return { table, slot };
}

/**
 * Checks the `heapSlot` option: a slot of this memory's table with no pymalloc heap yet, the
 * default arena allocator, and the layout of the table's other pymalloc heaps (a free into another
 * slot's heap reads its pools with this heap's layout).
 */
function requireHeapSlot(value: unknown, memory: LinearMemory, options: PymallocOptions, layout: PymallocLayout): HeapSlot {
  const slot = value as Partial<HeapSlot> | null;
  if (typeof slot !== "object" || slot === null || !(slot.table instanceof HeapSlots)) {
    throw optionError(`heapSlot must be { table: HeapSlots, slot: number }, got ${describeValue(value)}`);
  }
  const table = slot.table;
  if (table.memory !== memory) throw optionError("heapSlot.table must be a table of the raw allocator's memory");
  const n = slot.slot;
  if (!(typeof n === "number" && Number.isInteger(n) && n >= 1 && n <= table.count)) {
    throw optionError(`heapSlot.slot must be an integer from 1 to ${table.count}, got ${describeValue(n)}`);
  }
  if (table.heap(n, HeapKind.Pymalloc) !== 0) throw optionError(`slot ${n} has a pymalloc heap already: open it with Pymalloc.attach`);
  if (options.arenaAllocator !== undefined) throw optionError("a heap slot's heap uses the default arena allocator (its arenas are marked in the slot table): do not pass arenaAllocator");
  if (options.register === true) throw optionError("a heap slot's heap is recorded in the slot table, not in the root table: do not pass register: true");
  const u32 = memory.u32;
  for (let other = 1; other <= table.count; other++) {
    const state = table.heap(other, HeapKind.Pymalloc);
    if (state === 0) continue;
    const w = state >>> 2;
    if (
      u32[w + STATE_ALIGNMENT_WORD] !== layout.alignment || u32[w + STATE_THRESHOLD_WORD] !== layout.smallRequestThreshold ||
      u32[w + STATE_POOL_SIZE_WORD] !== layout.poolSize || u32[w + STATE_ARENA_SIZE_WORD] !== layout.arenaSize ||
      (u32[w + STATE_POINTER_SIZE_WORD] || 8) !== layout.pointerSize
    ) {
      throw optionError(`the layout must be the one of slot ${other}'s pymalloc heap (heaps of one table free into each other's pools)`);
    }
  }
  return { table, slot: n };
}
