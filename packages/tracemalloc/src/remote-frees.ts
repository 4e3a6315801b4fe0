/*
 * Frees by other threads, for the tracers of a free-threaded runtime. Each worker's tracer traces
 * its own thread's calls (its tables are JavaScript objects of that thread), but any worker may
 * free or resize any worker's block. A tracer that is handed an address it did not trace tells
 * every other tracer of the runtime, through a queue of addresses in the shared memory that only
 * the queue's tracer reads (mimalloc's cross-thread free list has the same shape: many threads
 * push, the owner takes). The owner reads its queue before it records a trace or answers a
 * question, and drops the traces of the addresses it finds.
 *
 * The tracers of every free-threaded runtime in a memory register in one directory, a region
 * found through the root table under "tstm" (created by the first tracer; racing creators agree
 * through setRootIfAbsent):
 *
 *   word 0   magic "TSTM"            word 3   registered tracers, all runtimes (Atomics)
 *   word 1   layout version          word 4   entries in use (scan bound)
 *   word 2   the directory's mutex
 *   +64      ENTRIES entries of ENTRY_WORDS words:
 *              0  the runtime's record address (0: a free entry)
 *              1  the heap slot of the tracer's thread, 2 that slot's claims when it registered
 *              3  its queue: a region of 4-byte addresses (0: none yet), 4 the queue's capacity
 *              5  queued addresses
 *              6  frees that could not be queued (the memory could not grow the queue)
 *              7  news: 5 + 6, written under the mutex with Atomics.store; the owner's traced
 *                 calls read it with one Atomics.load, and go on when it is 0
 *
 * Ordering. A thread pushes an address BEFORE it calls the allocator's free or realloc, so the
 * push is visible before the address can be handed out again (the free itself, local or a remote
 * compare-and-swap, orders it). A tracer drains its queue before it records a new trace and
 * before it decides whether it traces an address it is asked to free: an owner that gets the same
 * address back (the ABA case) drops the old trace first, then records the new one.
 *
 * Lifetime. A tracer registers at start() and unregisters at stop(); the registry's close()
 * stops it first. A worker that ended without either keeps its entry until its heap slot is let
 * go (runtime.abandonThread): a thread that pushes, or registers, finds the entry's slot no
 * longer held by the same claim and removes the entry, unmapping its queue.
 */
import { ErrorCode, HeapSlotState, type HeapSlots, type LinearMemory, lockMutex, TsmallocError, unlockMutex } from "@tsmalloc/memory";
import type { Runtime } from "@tsmalloc/registry";

/** The root-table tag of the directory. */
export const REMOTE_FREES_ROOT = "tstm";
/** "TSTM" read as a little-endian 32-bit word. */
const MAGIC = 0x4d545354;
const VERSION = 1;
const DIRECTORY_BYTES = 65536;
const D_MAGIC = 0;
const D_VERSION = 1;
const D_LOCK = 2;
const D_TRACERS = 3;
const D_IN_USE = 4;
/** Word of the first entry. */
const D_ENTRIES = 16;
const ENTRY_WORDS = 8;
/** Tracers a memory's directory holds at once (every runtime in it together). */
export const MAX_SHARED_TRACERS: number = (DIRECTORY_BYTES / 4 - D_ENTRIES) / ENTRY_WORDS;
const E_RUNTIME = 0;
const E_SLOT = 1;
const E_CLAIMS = 2;
const E_QUEUE = 3;
const E_CAPACITY = 4;
const E_QUEUED = 5;
const E_LOST = 6;
const E_NEWS = 7;
/** Addresses of a queue's first region (64 KiB); a full queue doubles. */
const FIRST_CAPACITY = 16384;

/** What a drain hands each address to: the owning tracer. @internal */
export interface RemoteFreeSink {
  /** Another thread freed (or resized) the block at `address`: drop its trace, if any. */
  freedRemotely(address: number): void;
  /** `count` frees could not be queued (the memory was full): some traces may be stale. */
  lostRemotely(count: number): void;
}

/**
 * One tracer's registration in the directory of its memory: its queue, and the way to push onto
 * the others'. Only for free-threaded runtimes. @internal
 */
export class RemoteFrees {
  readonly #memory: LinearMemory;
  readonly #slots: HeapSlots;
  readonly #runtime: number;
  /** Word index of the directory. */
  readonly #base: number;
  /** Word index of this tracer's entry; -1 once unregistered. */
  #entry: number;

  private constructor(memory: LinearMemory, slots: HeapSlots, runtime: number, base: number, entry: number) {
    this.#memory = memory;
    this.#slots = slots;
    this.#runtime = runtime;
    this.#base = base;
    this.#entry = entry;
  }

  /**
   * Registers a tracer of `runtime` (free-threaded; this thread holds a heap slot of it).
   *
   * @throws {@link TsmallocError} `ERR_TSMALLOC_OUT_OF_MEMORY` when the memory cannot map the
   *   directory or its root table is full; `ERR_TSMALLOC_THREAD_LIMIT` when the directory holds
   *   {@link MAX_SHARED_TRACERS} tracers; `ERR_TSMALLOC_INCOMPATIBLE` when the memory holds a
   *   directory of another layout version
   */
  static register(runtime: Runtime, slots: HeapSlots, slot: number): RemoteFrees {
    const memory = runtime.memory;
    const base = openDirectory(memory) >>> 2;
    const i32 = memory.i32;
    const claims = slots.claims(slot);
    lockMutex(i32, base + D_LOCK);
    try {
      const inUse = i32[base + D_IN_USE]!;
      let free = -1;
      for (let e = 0; e < inUse; e++) {
        const w = base + D_ENTRIES + e * ENTRY_WORDS;
        if (i32[w + E_RUNTIME] !== 0 && i32[w + E_RUNTIME] === (runtime.address | 0) && !entryAlive(slots, i32, w)) releaseEntry(memory, base, w);
        if (free < 0 && memory.i32[w + E_RUNTIME] === 0) free = e;
      }
      if (free < 0) {
        if (inUse >= MAX_SHARED_TRACERS) {
          throw new TsmallocError(ErrorCode.ThreadLimit, `start: the memory's ${MAX_SHARED_TRACERS} shared tracer entries are all in use (a tracer stops with stop(), or when its thread closes the runtime)`);
        }
        free = inUse;
        Atomics.store(i32, base + D_IN_USE, inUse + 1);
      }
      const w = base + D_ENTRIES + free * ENTRY_WORDS;
      const words = memory.i32;
      words[w + E_SLOT] = slot;
      words[w + E_CLAIMS] = claims;
      words[w + E_QUEUE] = 0;
      words[w + E_CAPACITY] = 0;
      words[w + E_LOST] = 0;
      words[w + E_QUEUED] = 0;
      Atomics.store(words, w + E_NEWS, 0);
      Atomics.store(words, w + E_RUNTIME, runtime.address | 0);
      Atomics.add(words, base + D_TRACERS, 1);
      return new RemoteFrees(memory, slots, runtime.address | 0, base, w);
    } finally {
      unlockMutex(memory.i32, base + D_LOCK);
    }
  }

  /** True when another thread queued addresses for this tracer: one Atomics.load. */
  get pending(): boolean {
    return this.#entry >= 0 && Atomics.load(this.#memory.i32, this.#entry + E_NEWS) !== 0;
  }

  /** Bytes of this tracer's queue region. */
  get byteLength(): number {
    return this.#entry < 0 ? 0 : this.#memory.i32[this.#entry + E_CAPACITY]! * 4;
  }

  /**
   * Tells every other registered tracer of the runtime that this thread is about to free (or
   * resize) the block at `address`, which this thread's tracer does not trace. Call it before
   * the allocator's call. One load when this tracer is the only one registered in the memory.
   */
  tellOthers(address: number): void {
    const entry = this.#entry;
    const base = this.#base;
    if (entry < 0 || Atomics.load(this.#memory.i32, base + D_TRACERS) <= 1) return;
    const memory = this.#memory;
    lockMutex(memory.i32, base + D_LOCK);
    try {
      const inUse = memory.i32[base + D_IN_USE]!;
      for (let e = 0; e < inUse; e++) {
        const w = base + D_ENTRIES + e * ENTRY_WORDS;
        if (w === entry || memory.i32[w + E_RUNTIME] !== this.#runtime) continue;
        if (!entryAlive(this.#slots, memory.i32, w)) releaseEntry(memory, base, w);
        else push(memory, w, address);
      }
    } finally {
      unlockMutex(memory.i32, base + D_LOCK);
    }
  }

  /** Hands every queued address to `sink` and empties the queue (under the directory's mutex). */
  drain(sink: RemoteFreeSink): void {
    const entry = this.#entry;
    if (entry < 0) return;
    const memory = this.#memory;
    lockMutex(memory.i32, this.#base + D_LOCK);
    try {
      const i32 = memory.i32;
      const queued = i32[entry + E_QUEUED]!;
      const queue = i32[entry + E_QUEUE]! >>> 2;
      const u32 = memory.u32;
      for (let i = 0; i < queued; i++) sink.freedRemotely(u32[queue + i]!);
      i32[entry + E_QUEUED] = 0;
      Atomics.store(i32, entry + E_NEWS, 0);
      const lost = i32[entry + E_LOST]!;
      if (lost !== 0) {
        i32[entry + E_LOST] = 0;
        sink.lostRemotely(lost >>> 0);
      }
    } finally {
      unlockMutex(memory.i32, this.#base + D_LOCK);
    }
  }

  /** Drops every queued address and the count of lost ones (clearTraces: the traces are gone). */
  clear(): void {
    const entry = this.#entry;
    if (entry < 0) return;
    const memory = this.#memory;
    lockMutex(memory.i32, this.#base + D_LOCK);
    try {
      memory.i32[entry + E_QUEUED] = 0;
      memory.i32[entry + E_LOST] = 0;
      Atomics.store(memory.i32, entry + E_NEWS, 0);
    } finally {
      unlockMutex(memory.i32, this.#base + D_LOCK);
    }
  }

  /** Unregisters: the queue is unmapped, what it held dropped; nothing is pushed here any more. */
  unregister(): void {
    const entry = this.#entry;
    if (entry < 0) return;
    this.#entry = -1;
    const memory = this.#memory;
    lockMutex(memory.i32, this.#base + D_LOCK);
    try {
      releaseEntry(memory, this.#base, entry);
    } finally {
      unlockMutex(memory.i32, this.#base + D_LOCK);
    }
  }
}

/** The directory's address in `memory`, made now if the memory has none. */
function openDirectory(memory: LinearMemory): number {
  let address = memory.getRoot(REMOTE_FREES_ROOT);
  if (address === 0) {
    const mine = memory.map(DIRECTORY_BYTES);
    if (mine === 0) throw new TsmallocError(ErrorCode.OutOfMemory, `start: the memory cannot map the ${DIRECTORY_BYTES}-byte table of shared tracers`);
    const i32 = memory.i32;
    i32[(mine >>> 2) + D_VERSION] = VERSION;
    Atomics.store(i32, (mine >>> 2) + D_MAGIC, MAGIC);
    address = memory.setRootIfAbsent(REMOTE_FREES_ROOT, mine);
    if (address !== mine) memory.unmap(mine);
    if (address === 0) throw new TsmallocError(ErrorCode.OutOfMemory, `start: the memory's root table is full: no room for the table of shared tracers ("${REMOTE_FREES_ROOT}")`);
  }
  const u32 = memory.u32;
  if (address % DIRECTORY_BYTES !== 0 || address + DIRECTORY_BYTES > memory.byteLength || u32[(address >>> 2) + D_MAGIC] !== MAGIC) {
    throw new TsmallocError(ErrorCode.Incompatible, `start: the memory's root "${REMOTE_FREES_ROOT}" is not a table of shared tracers`);
  }
  if (u32[(address >>> 2) + D_VERSION] !== VERSION) {
    throw new TsmallocError(ErrorCode.Incompatible, `start: the memory's table of shared tracers has layout version ${u32[(address >>> 2) + D_VERSION]}, this build reads ${VERSION}`);
  }
  return address;
}

/** True while the thread that registered the entry at word `w` still holds its slot (the same claim). */
function entryAlive(slots: HeapSlots, i32: Int32Array, w: number): boolean {
  const slot = i32[w + E_SLOT]!;
  return slots.state(slot) === HeapSlotState.Owned && slots.claims(slot) === i32[w + E_CLAIMS]! >>> 0;
}

/** Frees the entry at word `w` and unmaps its queue (the directory's mutex is held). */
function releaseEntry(memory: LinearMemory, base: number, w: number): void {
  const queue = memory.i32[w + E_QUEUE]! >>> 0;
  if (queue !== 0) memory.unmap(queue);
  const i32 = memory.i32;
  i32[w + E_QUEUE] = 0;
  i32[w + E_CAPACITY] = 0;
  i32[w + E_QUEUED] = 0;
  Atomics.store(i32, w + E_NEWS, 0);
  Atomics.store(i32, w + E_RUNTIME, 0);
  Atomics.sub(i32, base + D_TRACERS, 1);
}

/**
 * Appends `address` to the queue of the entry at word `w`, doubling the queue when it is full
 * (the directory's mutex is held). When the memory cannot map a larger queue the free is counted
 * as lost in the entry, never dropped silently.
 */
function push(memory: LinearMemory, w: number, address: number): void {
  let i32 = memory.i32;
  const queued = i32[w + E_QUEUED]!;
  const capacity = i32[w + E_CAPACITY]!;
  if (queued === capacity) {
    const grown = capacity === 0 ? FIRST_CAPACITY : capacity * 2;
    const region = grown * 4 <= 0x80000000 ? memory.map(grown * 4) : 0;
    i32 = memory.i32;
    if (region === 0) {
      i32[w + E_LOST] = (i32[w + E_LOST]! + 1) | 0;
      Atomics.store(i32, w + E_NEWS, (i32[w + E_NEWS]! + 1) | 0);
      return;
    }
    const old = i32[w + E_QUEUE]! >>> 0;
    if (old !== 0) {
      memory.u32.copyWithin(region >>> 2, old >>> 2, (old >>> 2) + queued);
      memory.unmap(old);
    }
    i32[w + E_QUEUE] = region | 0;
    i32[w + E_CAPACITY] = grown;
  }
  memory.u32[(i32[w + E_QUEUE]! >>> 2) + queued] = address;
  i32 = memory.i32;
  i32[w + E_QUEUED] = queued + 1;
  Atomics.store(i32, w + E_NEWS, (i32[w + E_NEWS]! + 1) | 0);
}
