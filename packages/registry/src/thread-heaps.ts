/*
 * Free-threading: the heaps of one thread of a runtime made with `freeThreading: true`, as CPython's
 * free-threaded build gives every thread state its own heaps (`_mimalloc_thread_state`). Each
 * thread holds a slot of the memory's HeapSlots table; the slot's heaps (a malloc heap, a pymalloc
 * heap in the pymalloc configurations, and the debug hooks' state blocks in the debug ones) are
 * recorded in the table under these kinds, so that whoever holds the slot next opens them:
 *
 *   HeapKind.Malloc (0)    the slot's malloc heap: RAW, and MEM and OBJ in the malloc configurations
 *   HeapKind.Pymalloc (1)  the slot's pymalloc heap: MEM and OBJ in the pymalloc configurations
 *   KIND_HOOKS_RAW (2)     state blocks of the slot's debug hooks, by domain
 *   KIND_HOOKS_MEM (3)
 *   KIND_HOOKS_OBJ (4)
 *
 * A thread's heaps are made (or, for an abandoned slot it adopted, opened) on its first call. It
 * lets them go with close(): what other threads freed into them is freed, and the slot is
 * abandoned, for the next thread that attaches. A thread that needs more memory (a new pymalloc
 * arena, a new malloc segment or large block) first borrows every abandoned slot whose heaps other
 * threads freed blocks into, and frees those blocks, so that arenas and segments they emptied go
 * back to the memory.
 */
import { DebugAllocator, type DebugHookOptions, type DebugLayoutName, type DebugThreadOptions, withDebugHooks } from "@tsmalloc/debug";
import { Malloc } from "@tsmalloc/malloc";
import { type Allocator, ErrorCode, HeapKind, HeapSlots, HeapSlotState, type LinearMemory, TsmallocError } from "@tsmalloc/memory";
import { Pymalloc } from "@tsmalloc/pymalloc";
import type { ConfigPlan } from "./config-name.ts";
import { type DomainTable, RawDomainAllocator } from "./raw-domain-allocator.ts";
import type { ThreadRecord } from "./runtime-record.ts";

/** Heap kinds of the slot table under which the registry records a slot's debug hooks. */
const KIND_HOOKS_RAW = 2;
const KIND_HOOKS_MEM = 3;
const KIND_HOOKS_OBJ = 4;

/** The heaps of one slot as this thread opened them, and the allocator of each domain over them. */
export interface SlotHeaps {
  readonly slot: number;
  readonly malloc: Malloc;
  readonly pymalloc: Pymalloc | null;
  /** What each domain's allocator is over these heaps (the heap itself, or its debug hooks). */
  readonly domains: DomainTable;
}

/** What a ThreadHeaps needs from its runtime. @internal */
export interface ThreadHeapsOptions {
  readonly memory: LinearMemory;
  readonly plan: ConfigPlan;
  readonly record: ThreadRecord;
  /** The hooks' options this thread chose (tracebacks, onCorruption); the thread check is off. */
  readonly debug: DebugThreadOptions;
  /** The hooks' block layout (the runtime's platform). */
  readonly debugLayout: DebugLayoutName;
  /**
   * The serial counter every thread's hooks draw from (the record's); 0 in the creating thread
   * before its first hooks, which start it.
   */
  readonly serialCounter: number;
  /** The runtime's domain table: pymalloc's raw allocator is its RAW domain, as without threads. */
  readonly table: DomainTable;
  /** pymalloc's onNewArena (statistics). */
  readonly onNewArena: (heap: Pymalloc) => void;
}

/**
 * One thread's heaps in a free-threaded runtime: the slot it holds and the heaps of that slot,
 * and the heaps of other slots it opened to check them, count them or free into them. @internal
 */
export class ThreadHeaps {
  /** The memory's slot table. */
  readonly table: HeapSlots;
  readonly #options: ThreadHeapsOptions;
  /** The slot this thread holds, 0 when none. */
  #slot = 0;
  /** The heaps of that slot, once made or opened; during binding, those made so far. */
  #bound: SlotHeaps | null = null;
  /** Heaps of other slots opened here (malloc and pymalloc only: enough to check and drain them). */
  readonly #opened = new Map<number, { readonly malloc: Malloc; readonly pymalloc: Pymalloc | null }>();
  /** The runtime's serial counter (0 until the creating thread's first hooks start it). */
  #counter: number;
  /** Set while abandoned slots are being drained, so that a drain that maps nothing starts no other. */
  #reclaiming = false;
  /** Set while bind() makes or opens this thread's heaps (#bound holds those made so far). */
  #binding = false;

  constructor(options: ThreadHeapsOptions) {
    this.#options = options;
    this.#counter = options.serialCounter;
    this.table = HeapSlots.attach(options.memory, options.record.table);
  }

  /**
   * The serial counter the runtime's hooks share: the creating thread's first hooks with serial
   * numbers start it; 0 when serial numbers are off.
   */
  get serialCounter(): number {
    return this.#counter;
  }

  /** The slot this thread holds, 0 when none (before it attached, or after close()). */
  get slot(): number {
    return this.#slot;
  }

  /** The heaps of this thread's slot, or null before its first call (or after close()). */
  get bound(): SlotHeaps | null {
    return this.#binding ? null : this.#bound;
  }

  /**
   * True while bind() is making this thread's heaps: what bind() returns meanwhile (to pymalloc's
   * own requests, which reach the RAW domain) has every domain on the RAW allocator.
   */
  get binding(): boolean {
    return this.#binding;
  }

  /**
   * Claims a slot for this thread: an abandoned one when there is one (its heaps are adopted on
   * the first call), else a new one.
   *
   * @throws {@link TsmallocError} `ERR_TSMALLOC_THREAD_LIMIT` when every slot is held
   */
  claim(fn: string): void {
    if (this.#slot !== 0) return;
    const slot = this.table.claim();
    if (slot === 0) {
      throw new TsmallocError(
        ErrorCode.ThreadLimit,
        `${fn}: all ${this.table.count} heap slots of this free-threaded runtime are held by threads; a thread that ends must call runtime.close() first (or its creator runtime.abandonThread(slot) after the thread exited)`,
      );
    }
    this.#slot = slot;
  }

  /**
   * This thread's heaps: made on the first call (claiming a slot when the thread holds none),
   * or opened when the slot was adopted, after which what other threads freed into them is freed.
   *
   * @throws {@link TsmallocError} `ERR_TSMALLOC_THREAD_LIMIT` when a slot is needed and every one
   *   is held; `ERR_TSMALLOC_OUT_OF_MEMORY` when the memory cannot hold a new heap (what was made
   *   stays recorded in the slot, and the next call goes on from there)
   */
  bind(fn: string): SlotHeaps {
    const bound = this.#bound;
    if (bound !== null) return bound;
    this.claim(fn);
    const { memory, plan, record } = this.#options;
    const table = this.table;
    const slot = this.#slot;
    const heapSlot = { table, slot };
    const beforeMap = (): void => {
      this.reclaimAbandoned();
    };
    const mallocAt = table.heap(slot, HeapKind.Malloc);
    const adopted = mallocAt !== 0;
    const malloc = adopted
      ? Malloc.attach(memory, mallocAt, { beforeMap })
      : new Malloc(memory, { mmapThreshold: record.mmapThreshold, segmentSize: record.segmentSize, heapSlot, beforeMap });
    const raw = plan.debug ? this.#hooks(malloc, "r", KIND_HOOKS_RAW) : malloc;
    // until the binding is over, every domain is the RAW one: only pymalloc's own requests (through
    // the runtime's RAW domain, which may be a hook over this thread's front) arrive meanwhile
    this.#bound = { slot, malloc, pymalloc: null, domains: { raw, mem: raw, obj: raw } };
    this.#binding = true;
    try {
      let pymalloc: Pymalloc | null = null;
      if (plan.pymalloc) {
        const state = table.heap(slot, HeapKind.Pymalloc);
        const pymallocRaw = new RawDomainAllocator(this.#options.table, memory);
        const onNewArena = this.#options.onNewArena;
        pymalloc = state !== 0
          ? Pymalloc.attach(pymallocRaw, state, { onNewArena })
          : new Pymalloc(pymallocRaw, { layout: record.layout, checks: record.checks, heapSlot, onNewArena });
      }
      const base: Allocator = pymalloc ?? malloc;
      const mem = plan.debug ? this.#hooks(base, "m", KIND_HOOKS_MEM) : base;
      const obj = plan.debug ? this.#hooks(base, "o", KIND_HOOKS_OBJ) : base;
      const heaps: SlotHeaps = { slot, malloc, pymalloc, domains: { raw, mem, obj } };
      this.#bound = heaps;
      if (adopted) {
        pymalloc?.drainRemoteFrees();
        malloc.drainRemoteFrees();
      }
      return heaps;
    } catch (error) {
      this.#bound = null;
      throw error;
    } finally {
      this.#binding = false;
    }
  }

  /**
   * Lets this thread's slot go (close()): frees what other threads freed into its heaps, then
   * abandons it. Its heaps, with whatever is still live in them, wait for the next thread that
   * attaches. Does nothing when the thread holds no slot.
   */
  release(): void {
    const slot = this.#slot;
    if (slot === 0) return;
    const bound = this.#bound;
    if (bound !== null) {
      bound.pymalloc?.drainRemoteFrees();
      bound.malloc.drainRemoteFrees();
    }
    this.#bound = null;
    this.#slot = 0;
    this.table.abandon(slot);
  }

  /**
   * Declares the thread that holds `slot` gone (it ended without close()): its slot is abandoned
   * as if it had closed, the blocks other threads freed into its heaps waiting for whoever holds it
   * next.
   *
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` for this thread's own slot, or a
   *   slot that no thread holds
   */
  abandonOther(slot: number, fn: string): void {
    if (slot === this.#slot && slot !== 0) {
      throw new TsmallocError(ErrorCode.InvalidOption, `${fn}: slot ${slot} is this thread's own; call close() to let it go`);
    }
    try {
      this.table.abandon(slot);
    } catch (error) {
      throw new TsmallocError(ErrorCode.InvalidOption, `${fn}: ${(error as Error).message}`, { cause: error });
    }
  }

  /**
   * Frees what other threads freed into this thread's heaps and into abandoned ones (each
   * borrowed for the moment it takes).
   *
   * @returns the number of blocks freed
   */
  reclaim(): number {
    const bound = this.#bound;
    let freed = 0;
    if (bound !== null) freed += (bound.pymalloc?.drainRemoteFrees() ?? 0) + bound.malloc.drainRemoteFrees();
    return freed + this.reclaimAbandoned();
  }

  /**
   * Borrows every abandoned slot whose heaps hold blocks other threads freed, and frees them, so
   * that the pools, arenas and segments they emptied serve again. One load when no slot is
   * abandoned; called before this thread's heaps map more memory.
   *
   * @returns the number of blocks freed
   */
  reclaimAbandoned(): number {
    const table = this.table;
    if (table.abandoned === 0 || this.#reclaiming) return 0;
    this.#reclaiming = true;
    let freed = 0;
    try {
      for (let slot = 1; slot <= table.count; slot++) {
        if (slot === this.#slot || table.state(slot) !== HeapSlotState.Abandoned || table.heap(slot, HeapKind.Malloc) === 0) continue;
        const heaps = this.open(slot);
        if (!heaps.malloc.remoteFreesWaiting && !(heaps.pymalloc?.remoteFreesWaiting ?? false)) continue;
        if (!table.borrow(slot)) continue;
        try {
          freed += (heaps.pymalloc?.drainRemoteFrees() ?? 0) + heaps.malloc.drainRemoteFrees();
        } finally {
          table.giveBack(slot);
        }
      }
    } finally {
      this.#reclaiming = false;
    }
    return freed;
  }

  /**
   * The malloc and pymalloc heaps of slot `slot` (which must have them), opened here once: this
   * thread's own when it is bound to it. Only read them, or drain them while the slot is borrowed.
   */
  open(slot: number): { readonly malloc: Malloc; readonly pymalloc: Pymalloc | null } {
    const bound = this.#bound;
    if (bound !== null && bound.slot === slot) return bound;
    let heaps = this.#opened.get(slot);
    if (heaps === undefined) {
      const { memory, plan } = this.#options;
      const malloc = Malloc.attach(memory, this.table.heap(slot, HeapKind.Malloc));
      const state = this.table.heap(slot, HeapKind.Pymalloc);
      const pymalloc = plan.pymalloc && state !== 0 ? Pymalloc.attach(new RawDomainAllocator({ raw: malloc, mem: malloc, obj: malloc }, memory), state) : null;
      heaps = { malloc, pymalloc };
      this.#opened.set(slot, heaps);
    }
    return heaps;
  }

  /** The slots whose heaps exist, in order. */
  slotsWithHeaps(): number[] {
    const slots: number[] = [];
    for (let slot = 1; slot <= this.table.count; slot++) if (this.table.heap(slot, HeapKind.Malloc) !== 0) slots.push(slot);
    return slots;
  }

  /**
   * The debug hooks of this slot for API `api` over `base`: those recorded under `kind`, opened
   * here, or new ones, recorded. The thread check is off (CPython's free-threaded build compiles
   * `_PyMem_DebugCheckGIL` out): any thread may free any thread's block.
   */
  #hooks(base: Allocator, api: "r" | "m" | "o", kind: number): DebugAllocator {
    const table = this.table;
    const slot = this.#slot;
    const at = table.heap(slot, kind);
    const thread: DebugThreadOptions = { ...this.#options.debug, checkThread: false };
    if (at !== 0) return DebugAllocator.attach(base, at, thread);
    const counter = this.#counter;
    const options: DebugHookOptions = {
      ...thread,
      api,
      serialNumbers: this.#options.record.serialNumbers,
      serialCounter: counter === 0 ? "new" : counter,
      layout: this.#options.debugLayout,
    };
    const hooks = withDebugHooks(base, options);
    if (counter === 0) this.#counter = hooks.serialCounter;
    table.setHeap(slot, kind, hooks.stateAddress);
    return hooks;
  }
}
