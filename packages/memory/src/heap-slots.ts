/*
 * Heap slots: what lets several threads keep heaps of their own in one shared memory, as CPython's
 * free-threaded build gives every thread state its own mimalloc heaps. A slot is one thread's set
 * of heaps (a malloc heap, a pymalloc heap, ...); the table below says, for every 64 KiB page of
 * the address space, which slot's heap the page belongs to, so that `free(p)` can tell in O(1),
 * with one byte load and no lock, whether `p` is the caller's own block (the local path, no atomic
 * operation) or another thread's (one compare-and-swap onto that heap's remote-free list).
 *
 * The table is a region of its own (RegionOwner.HeapSlots), two pages:
 *
 *   +0        header: magic "TSHS", version, slot count, abandoned slots (HS_* word indices)
 *   +64       slot records, SLOT_WORDS words each, for slots 0..MAX_HEAP_SLOTS (0 unused):
 *               word 0  state (HeapSlotState), changed with Atomics only
 *               word 1  claims: how many times the slot was claimed
 *               word 2+ the slot's heaps by HeapKind (0: none yet)
 *   +65536    page table: one byte per page of the 32-bit address space (index = address >>> 16),
 *             the slot whose heap holds the page, 0 for none
 *
 * A slot moves between states with compare-and-swap, so that exactly one thread holds it at a
 * time; the heaps of a slot are used only by the thread that holds it:
 *
 *              claim                 abandon                borrow
 *     Free ----------> Owned ----------------> Abandoned ---------> Borrowed
 *                        ^                     |    ^                  |
 *                        +---------------------+    +------------------+
 *                          claim (adoption)            giveBack
 *
 * A slot's page bytes are written by the thread that holds it, when its heaps map a region and
 * before any block of that region is handed out, and cleared before the region is unmapped. A
 * thread that reads the byte of a page another thread's heap owns has received the block's
 * address through something that synchronizes, so it sees the byte.
 */
import type { LinearMemory } from "./linear-memory.ts";
import { ErrorCode, TsmallocError } from "./errors.ts";
import { RegionOwner } from "./region-owner.ts";
import { describeValue, formatAddress, isAddress } from "./validate.ts";

/** The most slots a table holds: page bytes are 8 bits, and 0 means "no slot". */
export const MAX_HEAP_SLOTS = 255;

/** States of a slot (word 0 of its record). */
export const HeapSlotState = {
  /** Never claimed: no heaps yet. */
  Free: 0,
  /** Held by a thread, which alone uses its heaps. */
  Owned: 1,
  /** Its thread let it go (closed, or ended and was declared gone); the next claim adopts it. */
  Abandoned: 2,
  /** Held for a moment by a thread that frees what others freed into its heaps. */
  Borrowed: 3,
} as const;

/** One of the {@link HeapSlotState} values. */
export type HeapSlotState = (typeof HeapSlotState)[keyof typeof HeapSlotState];

/**
 * Which heap of a slot a record word holds ({@link HeapSlots.heap}). Kinds 2 to 5 are free for the
 * program that owns the table (the registry keeps its debug hooks' state blocks there).
 */
export const HeapKind = {
  /** The slot's `@tsmalloc/malloc` heap (its header address). */
  Malloc: 0,
  /** The slot's `@tsmalloc/pymalloc` heap (its state block address). */
  Pymalloc: 1,
} as const;

/**
 * A slot of a table, as an allocator's `heapSlot` option takes it: the heap it makes belongs to
 * slot `slot` of `table`, which the calling thread holds.
 */
export interface HeapSlot {
  readonly table: HeapSlots;
  readonly slot: number;
}

/** How many heap words a slot record has: kinds 0 to HEAP_KINDS - 1. */
export const HEAP_KINDS = 6;

/** "TSHS" read as a little-endian 32-bit word. */
const MAGIC = 0x53485354;
const VERSION = 1;
const HS_MAGIC = 0;
const HS_VERSION = 1;
const HS_SLOTS = 2;
/** How many slots are abandoned now (changed with Atomics), so that a look for them costs one load. */
const HS_ABANDONED = 3;
/** Word index of the first slot record (slot 0's, which is never used). */
const HS_RECORDS = 16;
/** Words of a slot record. */
const SLOT_WORDS = 8;
const SLOT_STATE = 0;
const SLOT_CLAIMS = 1;
const SLOT_HEAPS = 2;
/** Byte offset of the page table in the table region. */
const PAGE_TABLE_OFFSET = 65536;
/** Bytes of the table region: the header page and the page table. */
const TABLE_BYTES: number = 2 * 65536;
/** Rounds of a claim that waits for a borrowed slot to be given back before it takes a new slot. */
const CLAIM_ROUNDS = 1000;

function optionError(message: string): TsmallocError {
  return new TsmallocError(ErrorCode.InvalidOption, message);
}

/**
 * One thread's handle on a memory's table of heap slots (see the module comment): the states of
 * the slots, the heaps of each slot, and which slot's heap owns each page. Make the table with
 * {@link HeapSlots.create}, open it in other workers with {@link HeapSlots.attach}. A program
 * normally reaches it through `@tsmalloc/registry`'s `createRuntime({ freeThreading: true })`.
 *
 * @example
 * ```ts
 * const memory = new LinearMemory({ shared: true });
 * const slots = HeapSlots.create(memory);
 * const mine = slots.claim(); // 1: this thread's slot
 * const heap = new Malloc(memory, { heapSlot: { table: slots, slot: mine } });
 * ```
 */
export class HeapSlots {
  /** The memory the table lives in. */
  readonly memory: LinearMemory;
  /** Address of the table (what {@link HeapSlots.attach} takes). */
  readonly address: number;
  /** Slots in the table: they are numbered 1 to `count`. */
  readonly count: number;
  /**
   * Byte offset in the memory of the page table: `memory.u8[pageTable + (p >>> 16)]` is the slot
   * whose heap holds address `p` (0 for none). Allocators read it on their hot paths; only the
   * thread that holds a slot writes that slot's pages ({@link HeapSlots.assignPages}).
   */
  readonly pageTable: number;
  readonly #recordWord: number;

  private constructor(memory: LinearMemory, address: number, count: number) {
    this.memory = memory;
    this.address = address;
    this.count = count;
    this.pageTable = address + PAGE_TABLE_OFFSET;
    this.#recordWord = (address >>> 2) + HS_RECORDS;
  }

  /**
   * Maps a new table of `count` slots (default and at most {@link MAX_HEAP_SLOTS}) in `memory`,
   * which must be shared: 128 KiB, owned by `RegionOwner.HeapSlots`. Every slot starts free.
   *
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` when the memory is not shared or
   *   `count` is not an integer in 1..255; `ERR_TSMALLOC_OUT_OF_MEMORY` when the memory cannot map
   *   the table
   */
  static create(memory: LinearMemory, count: number = MAX_HEAP_SLOTS): HeapSlots {
    if (!memory.shared) throw optionError("HeapSlots.create: the memory must be shared (a shared WebAssembly.Memory or a SharedArrayBuffer): heap slots are for threads that share it");
    if (!(typeof count === "number" && Number.isInteger(count) && count >= 1 && count <= MAX_HEAP_SLOTS)) {
      throw optionError(`HeapSlots.create: count must be an integer from 1 to ${MAX_HEAP_SLOTS}, got ${describeValue(count)}`);
    }
    const address = memory.map(TABLE_BYTES, { owner: RegionOwner.HeapSlots });
    if (address === 0) throw new TsmallocError(ErrorCode.OutOfMemory, `HeapSlots.create: the memory cannot map the ${TABLE_BYTES}-byte table`);
    const i32 = memory.i32;
    const w = address >>> 2;
    // mapped regions are zeroed: every slot is free and owns no page
    i32[w + HS_VERSION] = VERSION;
    i32[w + HS_SLOTS] = count;
    Atomics.store(i32, w + HS_MAGIC, MAGIC);
    return new HeapSlots(memory, address, count);
  }

  /**
   * Opens the table at `address` that {@link HeapSlots.create} made in `memory` (in another
   * worker). Nothing changes in the memory.
   *
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INCOMPATIBLE` when there is no table of this
   *   layout version at `address`
   */
  static attach(memory: LinearMemory, address: number): HeapSlots {
    const incompatible = (why: string): TsmallocError => new TsmallocError(ErrorCode.Incompatible, `HeapSlots.attach: ${why}`, isAddress(address) ? { address } : undefined);
    if (!isAddress(address) || address === 0 || address % 65536 !== 0 || address + TABLE_BYTES > memory.byteLength) {
      throw incompatible(`${describeValue(address)} is not the address of a heap-slot table`);
    }
    if (memory.pageOwner(address) !== RegionOwner.HeapSlots) throw incompatible(`no heap-slot table at ${formatAddress(address)}`);
    const u32 = memory.u32;
    const w = address >>> 2;
    if (u32[w + HS_MAGIC] !== MAGIC) throw incompatible(`no heap-slot table at ${formatAddress(address)}`);
    if (u32[w + HS_VERSION] !== VERSION) throw incompatible(`the table at ${formatAddress(address)} has layout version ${u32[w + HS_VERSION]}, this build reads ${VERSION}`);
    const count = u32[w + HS_SLOTS]!;
    if (count < 1 || count > MAX_HEAP_SLOTS) throw incompatible(`the table at ${formatAddress(address)} is damaged`);
    return new HeapSlots(memory, address, count);
  }

  /**
   * Claims a slot for the calling thread: an abandoned one if there is any (the caller adopts its
   * heaps, with the blocks still live in them and what other threads freed into them), else one
   * that was never used. A slot that another thread has borrowed for a moment is waited for.
   *
   * @returns the slot (1 to `count`), or 0 when every slot is held
   */
  claim(): number {
    const i32 = this.memory.i32;
    for (let round = 0; round < CLAIM_ROUNDS; round++) {
      let borrowed = false;
      for (let slot = 1; slot <= this.count; slot++) {
        const at = this.#word(slot, SLOT_STATE);
        const state = Atomics.load(i32, at);
        if (state === HeapSlotState.Abandoned && Atomics.compareExchange(i32, at, HeapSlotState.Abandoned, HeapSlotState.Owned) === HeapSlotState.Abandoned) {
          Atomics.sub(i32, (this.address >>> 2) + HS_ABANDONED, 1);
          Atomics.add(i32, this.#word(slot, SLOT_CLAIMS), 1);
          return slot;
        }
        if (state === HeapSlotState.Borrowed) borrowed = true;
      }
      if (!borrowed) break;
    }
    for (let slot = 1; slot <= this.count; slot++) {
      const at = this.#word(slot, SLOT_STATE);
      if (Atomics.load(i32, at) === HeapSlotState.Free && Atomics.compareExchange(i32, at, HeapSlotState.Free, HeapSlotState.Owned) === HeapSlotState.Free) {
        Atomics.add(i32, this.#word(slot, SLOT_CLAIMS), 1);
        return slot;
      }
    }
    return 0;
  }

  /**
   * Lets go of an owned slot: its heaps, and whatever is still live in them, wait for the next
   * thread that claims a slot or borrows it. The caller must not use the slot's heaps afterwards.
   *
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` for a slot that is not owned
   */
  abandon(slot: number): void {
    this.#requireSlot(slot, "abandon");
    if (Atomics.compareExchange(this.memory.i32, this.#word(slot, SLOT_STATE), HeapSlotState.Owned, HeapSlotState.Abandoned) !== HeapSlotState.Owned) {
      throw optionError(`HeapSlots.abandon: slot ${slot} is not owned by a thread (it is ${this.#stateName(slot)})`);
    }
    Atomics.add(this.memory.i32, (this.address >>> 2) + HS_ABANDONED, 1);
  }

  /** How many slots are abandoned now (borrowed ones included): one load, no lock. */
  get abandoned(): number {
    return Atomics.load(this.memory.i32, (this.address >>> 2) + HS_ABANDONED);
  }

  /**
   * Takes an abandoned slot for a moment (to free what other threads freed into its heaps, so
   * that its empty regions go back to the memory). Give it back with {@link HeapSlots.giveBack}.
   *
   * @returns true when the caller now holds the slot; false when it is not abandoned
   */
  borrow(slot: number): boolean {
    this.#requireSlot(slot, "borrow");
    return Atomics.compareExchange(this.memory.i32, this.#word(slot, SLOT_STATE), HeapSlotState.Abandoned, HeapSlotState.Borrowed) === HeapSlotState.Abandoned;
  }

  /**
   * Gives back a slot taken with {@link HeapSlots.borrow}: it is abandoned again.
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` for a slot that is not borrowed
   */
  giveBack(slot: number): void {
    this.#requireSlot(slot, "giveBack");
    if (Atomics.compareExchange(this.memory.i32, this.#word(slot, SLOT_STATE), HeapSlotState.Borrowed, HeapSlotState.Abandoned) !== HeapSlotState.Borrowed) {
      throw optionError(`HeapSlots.giveBack: slot ${slot} is not borrowed (it is ${this.#stateName(slot)})`);
    }
  }

  /**
   * The state of `slot` now (a {@link HeapSlotState} value).
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` for a slot out of range
   */
  state(slot: number): HeapSlotState {
    this.#requireSlot(slot, "state");
    return Atomics.load(this.memory.i32, this.#word(slot, SLOT_STATE)) as HeapSlotState;
  }

  /**
   * How many times `slot` was claimed (adoptions included).
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` for a slot out of range
   */
  claims(slot: number): number {
    this.#requireSlot(slot, "claims");
    return Atomics.load(this.memory.i32, this.#word(slot, SLOT_CLAIMS)) >>> 0;
  }

  /**
   * The address of `slot`'s heap of kind `kind` ({@link HeapKind}, or 2..5 for a program's own),
   * or 0 when it has none yet. O(1), no lock: the remote-free paths read it.
   *
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` for a slot or kind out of range
   */
  heap(slot: number, kind: number): number {
    this.#requireSlot(slot, "heap");
    this.#requireKind(kind, "heap");
    return this.memory.u32[this.#word(slot, SLOT_HEAPS + kind)]!;
  }

  /**
   * Records `address` as `slot`'s heap of kind `kind`. Only the thread that holds the slot
   * records its heaps, once each, before any of their blocks is handed out.
   *
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` for a slot or kind out of range
   */
  setHeap(slot: number, kind: number, address: number): void {
    this.#requireSlot(slot, "setHeap");
    this.#requireKind(kind, "setHeap");
    Atomics.store(this.memory.i32, this.#word(slot, SLOT_HEAPS + kind), address | 0);
  }

  /** The slot whose heap holds the page of `address`, 0 for none (or a non-address). Never throws. */
  slotOf(address: number): number {
    return isAddress(address) ? this.memory.u8[this.pageTable + (address >>> 16)]! : 0;
  }

  /**
   * Marks the pages of `[address, address + bytes)` (a page-aligned region) as `slot`'s, or as
   * nobody's with slot 0. Called by the heaps of the slot, on the thread that holds it.
   */
  assignPages(address: number, bytes: number, slot: number): void {
    const first = this.pageTable + (address >>> 16);
    this.memory.u8.fill(slot, first, first + Math.ceil(bytes / 65536));
  }

  #word(slot: number, word: number): number {
    return this.#recordWord + slot * SLOT_WORDS + word;
  }

  #requireSlot(slot: unknown, fn: string): void {
    if (!(typeof slot === "number" && Number.isInteger(slot) && slot >= 1 && slot <= this.count)) {
      throw optionError(`HeapSlots.${fn}: slot must be an integer from 1 to ${this.count}, got ${describeValue(slot)}`);
    }
  }

  #requireKind(kind: unknown, fn: string): void {
    if (!(typeof kind === "number" && Number.isInteger(kind) && kind >= 0 && kind < HEAP_KINDS)) {
      throw optionError(`HeapSlots.${fn}: kind must be an integer from 0 to ${HEAP_KINDS - 1}, got ${describeValue(kind)}`);
    }
  }

  #stateName(slot: number): string {
    const state = Atomics.load(this.memory.i32, this.#word(slot, SLOT_STATE));
    return ["free", "owned", "abandoned", "borrowed"][state] ?? `in state ${state}`;
  }
}
