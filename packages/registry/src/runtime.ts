import { checkDebugHookOptions, DebugAllocator, type DebugHookOptions, type DebugThreadOptions, isDebugAllocator, withDebugHooks } from "@tsmalloc/debug";
import { DEFAULT_MMAP_THRESHOLD, DEFAULT_SEGMENT_SIZE, Malloc, type MallocOptions } from "@tsmalloc/malloc";
import {
  type Allocator,
  describeValue,
  ErrorCode,
  type HeapCheck,
  HeapKind,
  type HeapProblem,
  HeapSlots,
  HeapSlotState,
  isAddress,
  LinearMemory,
  TsmallocError,
} from "@tsmalloc/memory";
import { type ArenaAllocator, formatStats, inspectState, Pymalloc, type PymallocOptions, regionArenaAllocator, resolveLayout, sumStats } from "@tsmalloc/pymalloc";
import { type AllocatorConfig, type AllocatorName, type ConfigPlan, parseAllocatorConfig, planOf } from "./config-name.ts";
import { planPlatform, type RuntimePlatform } from "./platform.ts";
import { apiIdOf, Domain, DOMAINS, isDomain } from "./domain.ts";
import { FaultCounter, FaultInjectionAllocator } from "./fault-injection.ts";
import { MAX_REQUEST_SIZE, refuseCalloc, refuseRealloc, refuseSize } from "./limits.ts";
import { type DomainTable, RawDomainAllocator } from "./raw-domain-allocator.ts";
import {
  readRecord,
  RECORD_BYTES,
  recordedSerialCounter,
  recordHooks,
  recordSerialCounter,
  RUNTIME_ROOT_TAG,
  type RuntimeRecord,
  THREADED_RECORD_BYTES,
  type ThreadRecord,
  writeRecord,
} from "./runtime-record.ts";
import { ThreadFront } from "./thread-front.ts";
import { ThreadHeaps } from "./thread-heaps.ts";

/** Options of {@link createRuntime}. */
export interface RuntimeOptions {
  /** The memory every domain allocates from; default a new growable `WebAssembly.Memory`. */
  readonly memory?: LinearMemory | undefined;
  /**
   * The configuration, by CPython's `PYTHONMALLOC` name (see {@link ALLOCATOR_CONFIGS});
   * `undefined` and `""` mean `"default"`.
   * @defaultValue "default"
   */
  readonly allocator?: string | undefined;
  /**
   * The platform model (see {@link PLATFORMS}): `"64-bit"`, or `"wasm32"` for 32-bit CPython such
   * as its WebAssembly builds. It sets pymalloc's layout (when `pymalloc.layout` is not given) and
   * the debug hooks' block layout. Omitted, it follows `pymalloc.layout` (a wasm32 layout makes a
   * wasm32 runtime), else `"64-bit"`.
   * @defaultValue "64-bit"
   */
  readonly platform?: RuntimePlatform | undefined;
  /** Options of the system malloc (RAW, and MEM/OBJ in the malloc configurations). */
  readonly malloc?: Pick<MallocOptions, "mmapThreshold" | "segmentSize"> | undefined;
  /** Options of pymalloc (MEM/OBJ in the pymalloc configurations). */
  readonly pymalloc?: Pick<PymallocOptions, "layout" | "checks" | "arenaAllocator"> | undefined;
  /**
   * Options of the debug hooks this runtime installs (the `_debug` configurations and
   * {@link Runtime.setupDebugHooks}); the API id is each domain's own, the block layout is the
   * platform's, and with serial numbers on, all the runtime's hooks draw from one counter of the
   * runtime's own (CPython's one `serialno`), so `api`, `layout` and `serialCounter` are not
   * options here.
   */
  readonly debug?: Omit<DebugHookOptions, "api" | "serialCounter" | "layout"> | undefined;
  /**
   * Print pymalloc's statistics each time a new arena is created and when the runtime is closed
   * (`TSMALLOCSTATS`, CPython's `PYTHONMALLOCSTATS`). Ignored by the malloc configurations,
   * which have no pymalloc.
   * @defaultValue false
   */
  readonly stats?: boolean | undefined;
  /** Where the statistics go; default standard error (the console where there is no process). */
  readonly statsOutput?: ((text: string) => void) | undefined;
  /**
   * Free-threading, as CPython's free-threaded build (3.13, `Py_GIL_DISABLED`): every thread that
   * uses the runtime (this one, and each worker that calls {@link attachRuntime}) gets heaps of its
   * own in `memory`, which must then be a shared `LinearMemory`. A thread's calls on its own
   * blocks take no lock and no atomic read-modify-write; any thread may free or resize any block
   * (another thread's block goes back to it through one compare-and-swap). See the README's
   * "Workers" section.
   * @defaultValue false
   */
  readonly freeThreading?: boolean | undefined;
}

/** Options of {@link attachRuntime}: what each thread chooses for itself. */
export interface AttachRuntimeOptions {
  /** This thread's options of the debug hooks it opens (tracebacks, onCorruption, checkThread). */
  readonly debug?: DebugThreadOptions | undefined;
  /** As {@link RuntimeOptions.stats}, for the arenas this thread creates. */
  readonly stats?: boolean | undefined;
  /** As {@link RuntimeOptions.statsOutput}. */
  readonly statsOutput?: ((text: string) => void) | undefined;
}

const OPTION_KEYS: ReadonlySet<string> = new Set(["memory", "allocator", "platform", "malloc", "pymalloc", "debug", "stats", "statsOutput", "freeThreading"]);
const ATTACH_KEYS: ReadonlySet<string> = new Set(["debug", "stats", "statsOutput"]);

/** What attachRuntime() found, for the constructor: the record to open and where it is. */
interface AttachedRecord {
  readonly memory: LinearMemory;
  readonly address: number;
  readonly record: RuntimeRecord;
}

/**
 * The key under which attachRuntime() hands the constructor the record it read. Only this module
 * can name it, so a caller's options never carry it.
 */
const ATTACHED: unique symbol = Symbol("attachRuntime");

/** The constructor's options as attachRuntime() passes them. */
interface AttachedOptions extends RuntimeOptions {
  readonly [ATTACHED]: AttachedRecord;
}

/**
 * A set of allocator domains over one memory: CPython's `_PyRuntime.allocators`. It holds the
 * current allocator of RAW, MEM and OBJ, lets a program replace any of them (hooks that wrap the
 * previous one, the way tracemalloc does), installs debug hooks, and offers CPython's entry
 * points (`rawMalloc` = `PyMem_RawMalloc`, `memMalloc` = `PyMem_Malloc`, `objMalloc` =
 * `PyObject_Malloc`, with their calloc/realloc/free).
 *
 * The entry points follow CPython's wrappers: a size over {@link MAX_REQUEST_SIZE} returns 0
 * without calling the allocator, as does a calloc whose product would exceed it; everything else
 * goes to the domain's allocator (`free(0)` too, which every tsmalloc allocator ignores), which
 * gives zero-size requests a distinct non-NULL pointer. Invalid arguments throw the allocator's
 * typed errors.
 *
 * Make one with {@link createRuntime}, {@link createRuntimeFromEnv} or {@link attachRuntime};
 * the package's functions (`memMalloc`, `getAllocator`, …) use a default one.
 *
 * @example
 * ```ts
 * const runtime = createRuntime({ allocator: "pymalloc_debug" });
 * const p = runtime.memMalloc(16);
 * runtime.memFree(p);
 * console.log(runtime.allocatorName()); // "pymalloc_debug"
 * ```
 */
export class Runtime {
  /** The memory every domain allocates from. */
  readonly memory: LinearMemory;
  /** The configuration the runtime was created with (`"default"`, `"debug"`, …). */
  readonly config: AllocatorConfig;
  /** The platform model: pymalloc's layout and the debug hooks' block layout follow it. */
  readonly platform: RuntimePlatform;
  /** Address of the runtime's record in the memory: what {@link attachRuntime} takes. */
  readonly address: number;

  readonly #plan: ConfigPlan;
  /** The shared heaps; null in a free-threaded runtime, whose heaps are each thread's (#threads). */
  readonly #malloc: Malloc | null;
  readonly #pymalloc: Pymalloc | null;
  /** This thread's heaps in a free-threaded runtime; null otherwise. */
  readonly #threads: ThreadHeaps | null;
  /** What each domain is in this thread before its heaps exist (free-threaded runtime). */
  readonly #fronts: DomainTable | null;
  readonly #table: DomainTable;
  readonly #debugOptions: Omit<DebugHookOptions, "api" | "serialCounter" | "layout">;
  /** The platform's debug block layout, for the hooks this runtime makes. */
  readonly #debugLayout: "64-bit" | "wasm32";
  #arenaAllocator: ArenaAllocator | null;
  #faults: { readonly counter: FaultCounter; readonly saved: DomainTable } | null = null;
  readonly #stats: boolean;
  readonly #statsOutput: (text: string) => void;
  #closed = false;
  /** What {@link Runtime.onClose} registered, called in order when this thread closes. */
  #closeListeners: (() => void)[] = [];

  /**
   * Use {@link createRuntime}, which does the same.
   *
   * @throws {@link TsmallocError} as {@link createRuntime}
   */
  constructor(options: RuntimeOptions = {}) {
    if (typeof options !== "object" || options === null) throw optionError("createRuntime", `options must be an object, got ${describeValue(options)}`);
    const attaching = (options as Partial<AttachedOptions>)[ATTACHED];
    const fn = attaching === undefined ? "createRuntime" : "attachRuntime";
    for (const key of Object.keys(options)) {
      if (!(attaching === undefined ? OPTION_KEYS : ATTACH_KEYS).has(key)) throw optionError(fn, `unknown option ${JSON.stringify(key)}`);
    }
    if (options.stats !== undefined && typeof options.stats !== "boolean") throw optionError(fn, `stats must be a boolean, got ${describeValue(options.stats)}`);
    if (options.statsOutput !== undefined && typeof options.statsOutput !== "function") {
      throw optionError(fn, `statsOutput must be a function, got ${describeValue(options.statsOutput)}`);
    }
    this.#stats = options.stats ?? false;
    this.#statsOutput = options.statsOutput ?? writeToStderr;
    this.#debugOptions = options.debug ?? {};
    if (typeof this.#debugOptions !== "object" || this.#debugOptions === null) throw optionError(fn, `debug must be an object, got ${describeValue(options.debug)}`);
    if ("api" in this.#debugOptions) throw optionError(fn, "debug.api is each domain's own ('r', 'm', 'o'); do not pass one");
    if ("serialCounter" in this.#debugOptions) throw optionError(fn, "debug.serialCounter is the runtime's own (one counter for all its hooks); do not pass one");
    if ("layout" in this.#debugOptions) throw optionError(fn, 'debug.layout follows the runtime\'s platform; pass platform ("64-bit" or "wasm32") instead');
    // checked once, before anything is allocated or opened
    try {
      checkDebugHookOptions({ ...this.#debugOptions, api: "r" });
    } catch (error) {
      throw new TsmallocError(ErrorCode.InvalidOption, `${fn}: debug options: ${(error as Error).message}`, { cause: error });
    }
    const onNewArena = (heap: Pymalloc): void => {
      // a thread that needs a new arena first lets abandoned heaps give back what they emptied
      this.#threads?.reclaimAbandoned();
      this.#printStats(heap);
    };

    if (attaching !== undefined) {
      const { memory, record } = attaching;
      this.memory = memory;
      this.config = record.config;
      this.platform = record.platform;
      this.#debugLayout = record.platform;
      this.#plan = planOf(record.config);
      this.address = attaching.address;
      this.#arenaAllocator = null;
      if (record.threads !== null) {
        // free-threaded: a slot of this thread's own now, its heaps on the first call
        this.#malloc = this.#pymalloc = null;
        this.#fronts = this.#makeFronts();
        this.#table = { ...this.#fronts };
        this.#threads = new ThreadHeaps({
          memory,
          plan: this.#plan,
          record: record.threads,
          debug: this.#debugOptions,
          debugLayout: this.#debugLayout,
          serialCounter: record.serialCounter,
          table: this.#table,
          onNewArena,
        });
        this.#threads.claim("attachRuntime");
        return;
      }
      this.#threads = null;
      this.#fronts = null;
      const malloc = Malloc.attach(memory, record.malloc);
      this.#malloc = malloc;
      const table: DomainTable = { raw: malloc, mem: malloc, obj: malloc };
      this.#table = table;
      if (record.hooks.raw !== 0) table.raw = DebugAllocator.attach(malloc, record.hooks.raw, this.#debugOptions);
      if (record.pymalloc !== 0) {
        this.#pymalloc = Pymalloc.attach(new RawDomainAllocator(table, memory), record.pymalloc, { onNewArena });
        table.mem = table.obj = this.#pymalloc;
      } else {
        this.#pymalloc = null;
      }
      const base = table.mem;
      if (record.hooks.mem !== 0) table.mem = DebugAllocator.attach(base, record.hooks.mem, this.#debugOptions);
      if (record.hooks.obj !== 0) table.obj = DebugAllocator.attach(base, record.hooks.obj, this.#debugOptions);
      return;
    }

    if (options.freeThreading !== undefined && typeof options.freeThreading !== "boolean") {
      throw optionError(fn, `freeThreading must be a boolean, got ${describeValue(options.freeThreading)}`);
    }
    const threaded = options.freeThreading === true;
    if (threaded && options.memory === undefined) {
      throw optionError(fn, "freeThreading needs a shared memory that the workers can attach to: pass memory: new LinearMemory({ shared: true })");
    }
    const memory = options.memory ?? new LinearMemory();
    if (!(memory instanceof LinearMemory)) throw optionError(fn, `memory must be a LinearMemory, got ${describeValue(memory)}`);
    if (threaded && !memory.shared) {
      throw optionError(fn, "freeThreading needs a shared memory (a shared WebAssembly.Memory or a SharedArrayBuffer): every thread's heaps live in it; this one is not shared");
    }
    this.memory = memory;
    this.config = parseAllocatorConfig(options.allocator, "createRuntime");
    const plan = planOf(this.config);
    this.#plan = plan;
    const pymallocOptions = options.pymalloc ?? {};
    if (typeof pymallocOptions !== "object" || pymallocOptions === null) throw optionError(fn, `pymalloc must be an object, got ${describeValue(pymallocOptions)}`);
    checkPymallocOptions(pymallocOptions, fn);
    const platform = planPlatform(options.platform, pymallocOptions.layout, fn);
    this.platform = platform.platform;
    this.#debugLayout = platform.debugLayout;
    if (threaded && pymallocOptions.arenaAllocator !== undefined) {
      throw optionError(fn, "freeThreading keeps pymalloc's default arena allocator (every thread's arenas are marked in the heap-slot table): do not pass pymalloc.arenaAllocator");
    }

    const mallocOptions = options.malloc ?? {};
    if (typeof mallocOptions !== "object" || mallocOptions === null) throw optionError(fn, `malloc must be an object, got ${describeValue(mallocOptions)}`);
    if (threaded) {
      this.#malloc = this.#pymalloc = null;
      this.#arenaAllocator = null;
      this.#fronts = this.#makeFronts();
      this.#table = { ...this.#fronts };
      const layout = resolveLayout(platform.pymallocLayout);
      const slots = HeapSlots.create(memory);
      const record: ThreadRecord = {
        table: slots.address,
        mmapThreshold: mallocOptions.mmapThreshold ?? DEFAULT_MMAP_THRESHOLD,
        segmentSize: mallocOptions.segmentSize ?? DEFAULT_SEGMENT_SIZE,
        layout: {
          alignment: layout.alignment,
          smallRequestThreshold: layout.smallRequestThreshold,
          poolSize: layout.poolSize,
          arenaSize: layout.arenaSize,
          pointerSize: layout.pointerSize,
        },
        checks: pymallocOptions.checks ?? true,
        serialNumbers: this.#debugOptions.serialNumbers ?? false,
      };
      // the creating thread's first hooks start the runtime's serial counter (serialCounter 0)
      const threads = new ThreadHeaps({ memory, plan, record, debug: this.#debugOptions, debugLayout: this.#debugLayout, serialCounter: 0, table: this.#table, onNewArena });
      this.#threads = threads;
      let malloc: Malloc;
      try {
        // the creating thread's heaps come at once: the runtime's record is a block of its malloc
        malloc = this.#bindThread().malloc;
      } catch (error) {
        // a bad malloc option is found before the first heap maps anything: take the table back too
        if (slots.heap(1, HeapKind.Malloc) === 0) memory.unmap(slots.address);
        throw error;
      }
      const address = malloc.malloc(THREADED_RECORD_BYTES);
      if (address === 0) throw new TsmallocError(ErrorCode.OutOfMemory, `createRuntime: the memory cannot hold the runtime's ${THREADED_RECORD_BYTES}-byte record`);
      writeRecord(memory, address, {
        config: this.config,
        platform: this.platform,
        malloc: 0,
        pymalloc: 0,
        hooks: { raw: 0, mem: 0, obj: 0 },
        serialCounter: threads.serialCounter,
        threads: record,
      });
      if (memory.getRoot(RUNTIME_ROOT_TAG) === 0) memory.setRoot(RUNTIME_ROOT_TAG, address);
      this.address = address;
      return;
    }
    this.#threads = null;
    this.#fronts = null;
    const malloc = new Malloc(memory, { ...mallocOptions });
    this.#malloc = malloc;
    const table: DomainTable = { raw: malloc, mem: malloc, obj: malloc };
    this.#table = table;
    const hooks = { raw: 0, mem: 0, obj: 0 };
    // the RAW hooks start the runtime's serial counter; the MEM and OBJ hooks draw from it
    let serialCounter = 0;
    if (plan.debug) {
      const hooked = withDebugHooks(malloc, { ...this.#debugOptions, api: "r", serialCounter: "new", layout: this.#debugLayout });
      table.raw = hooked;
      hooks.raw = hooked.stateAddress;
      serialCounter = hooked.serialCounter;
    }
    if (plan.pymalloc) {
      // pymalloc's raw allocator is the RAW *domain*, not the system malloc: under the debug
      // configurations its large blocks carry 'r' hooks inside the 'm' / 'o' hooks
      this.#pymalloc = new Pymalloc(new RawDomainAllocator(table, memory), { ...pymallocOptions, layout: platform.pymallocLayout, onNewArena });
      table.mem = table.obj = this.#pymalloc;
      this.#arenaAllocator = null;
    } else {
      this.#pymalloc = null;
      this.#arenaAllocator = pymallocOptions.arenaAllocator ?? null;
    }
    if (plan.debug) {
      const base = table.mem;
      const counter = serialCounter === 0 ? "new" : serialCounter;
      const mem = withDebugHooks(base, { ...this.#debugOptions, api: "m", serialCounter: counter, layout: this.#debugLayout });
      const obj = withDebugHooks(base, { ...this.#debugOptions, api: "o", serialCounter: counter, layout: this.#debugLayout });
      table.mem = mem;
      table.obj = obj;
      hooks.mem = mem.stateAddress;
      hooks.obj = obj.stateAddress;
    }
    const address = malloc.malloc(RECORD_BYTES);
    if (address === 0) throw new TsmallocError(ErrorCode.OutOfMemory, `createRuntime: the memory cannot hold the runtime's ${RECORD_BYTES}-byte record`);
    writeRecord(memory, address, { config: this.config, platform: this.platform, malloc: malloc.address, pymalloc: this.#pymalloc?.address ?? 0, hooks, serialCounter, threads: null });
    if (memory.getRoot(RUNTIME_ROOT_TAG) === 0) memory.setRoot(RUNTIME_ROOT_TAG, address);
    this.address = address;
  }

  /**
   * The system malloc: the RAW domain's allocator, and MEM/OBJ's in the malloc configurations. In
   * a free-threaded runtime, this thread's own malloc heap (made on this first use).
   */
  get mallocHeap(): Malloc {
    return this.#malloc ?? this.#bindThread().malloc;
  }

  /**
   * The pymalloc heap of MEM and OBJ, or null in the malloc configurations. In a free-threaded
   * runtime, this thread's own pymalloc heap (made on this first use).
   */
  get pymallocHeap(): Pymalloc | null {
    if (this.#threads === null || !this.#plan.pymalloc) return this.#pymalloc;
    return this.#bindThread().pymalloc;
  }

  /** True for a runtime made with `freeThreading: true`, in every thread that opens it. */
  get freeThreading(): boolean {
    return this.#threads !== null;
  }

  /**
   * The heap slot this thread holds in a free-threaded runtime (1..255: the creating thread's is
   * 1), 0 when it holds none (after `close()`, until its next call) or the runtime is not
   * free-threaded. A creator that must declare a worker gone ({@link Runtime.abandonThread})
   * learns the worker's slot from the worker.
   */
  get threadSlot(): number {
    return this.#threads?.slot ?? 0;
  }

  /**
   * The memory's heap-slot table of a free-threaded runtime (the same table in every thread that
   * opened the runtime; {@link Runtime.threadSlot} is this thread's slot in it), null otherwise.
   * Tools above the registry read it to tell whether a slot's thread still holds it
   * (`state(slot)`, `claims(slot)`).
   */
  get heapSlots(): HeapSlots | null {
    return this.#threads?.table ?? null;
  }

  /**
   * Calls `listener` in this thread when this thread closes the runtime: in a free-threaded
   * runtime each time {@link Runtime.close} lets this thread's heap slot go, before it does (the
   * slot is still held); otherwise on the first `close()`. Tools that keep state per thread
   * (tracemalloc's tracers) end it there. Listeners run in the order they were added; one that
   * throws stops the close, which changes nothing then.
   *
   * @returns a function that removes the listener (calling it again does nothing)
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` unless `listener` is a function
   */
  onClose(listener: () => void): () => void {
    if (typeof listener !== "function") throw optionError("onClose", `listener must be a function, got ${describeValue(listener)}`);
    const entry = (): void => listener();
    this.#closeListeners.push(entry);
    return () => {
      const at = this.#closeListeners.indexOf(entry);
      if (at >= 0) this.#closeListeners.splice(at, 1);
    };
  }

  /**
   * Frees, now, the blocks other threads freed into this thread's heaps and into abandoned ones
   * (free-threading: they wait on their heap's remote-free list until the heap next needs memory).
   * Abandoned heaps' emptied pools, arenas and segments go back to the memory.
   *
   * @returns the number of blocks freed; 0 in a runtime that is not free-threaded
   */
  reclaim(): number {
    return this.#threads?.reclaim() ?? 0;
  }

  /**
   * Declares gone the worker that held heap slot `slot` and ended without calling `close()` (in a
   * free-threaded runtime; call it after the Worker's `exit` event, with the slot the worker
   * reported from its {@link Runtime.threadSlot}). Its slot is abandoned as if it had closed: the
   * next thread that attaches adopts its heaps, with the blocks still live in them, and blocks
   * other threads free into them are freed when a thread needs memory. Never call it for a thread
   * that still runs: its heaps would then have two users.
   *
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` for a runtime that is not
   *   free-threaded, this thread's own slot (use `close()`), or a slot no thread holds
   */
  abandonThread(slot: number): void {
    if (this.#threads === null) throw optionError("abandonThread", "the runtime is not free-threaded (createRuntime({ freeThreading: true }))");
    this.#threads.abandonOther(slot, "abandonThread");
  }

  /** The fronts of a free-threaded runtime: each domain before this thread's heaps exist. */
  #makeFronts(): DomainTable {
    const plan = this.#plan;
    const debug = plan.debug ? "_debug" : "";
    const bind = (): DomainTable => this.#bindThread().domains;
    return {
      raw: new ThreadFront(`malloc${debug}`, this.memory, Domain.RAW, bind),
      mem: new ThreadFront(`${plan.pymalloc ? "pymalloc" : "malloc"}${debug}`, this.memory, Domain.MEM, bind),
      obj: new ThreadFront(`${plan.pymalloc ? "pymalloc" : "malloc"}${debug}`, this.memory, Domain.OBJ, bind),
    };
  }

  /**
   * This thread's heaps in a free-threaded runtime, made or opened now if need be; the domains
   * that are still this thread's fronts get their allocators over them.
   */
  #bindThread(): ReturnType<ThreadHeaps["bind"]> {
    const threads = this.#threads!;
    const heaps = threads.bind("free-threaded runtime");
    // a call that arrives while the heaps are being made (pymalloc's own, through RAW) changes nothing
    if (threads.binding) return heaps;
    const table = this.#table;
    const fronts = this.#fronts!;
    for (const domain of DOMAINS) if (table[domain] === fronts[domain]) table[domain] = heaps.domains[domain];
    return heaps;
  }

  // ---------------------------------------------------------------------------------------------
  // The domains

  /**
   * The allocator `domain` has now (CPython's `PyMem_GetAllocator`).
   *
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` when `domain` is not a {@link Domain}
   */
  getAllocator(domain: Domain): Allocator {
    return this.#table[requireDomain(domain, "getAllocator")];
  }

  /**
   * Makes `allocator` serve `domain` from now on (CPython's `PyMem_SetAllocator`). A hook that
   * wraps the previous allocator (`getAllocator(domain)`) can be installed at any time. A
   * replacement that does not accept the previous allocator's blocks must be installed before
   * the domain hands out any: blocks already out would reach it when they are freed. Other
   * workers' runtimes over the same memory are not affected.
   *
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` when `domain` is not a
   *   {@link Domain}, or `allocator` is not an {@link Allocator} over this runtime's memory
   */
  setAllocator(domain: Domain, allocator: Allocator): void {
    const d = requireDomain(domain, "setAllocator");
    this.#table[d] = this.#requireAllocator(allocator, "setAllocator");
  }

  /**
   * Installs `@tsmalloc/debug` hooks on RAW, then MEM, then OBJ, skipping a domain whose
   * allocator already is debug hooks (CPython's `PyMem_SetupDebugHooks`). Each new hook wraps the
   * domain's current allocator, with this runtime's `debug` options and the domain's API id; with
   * serial numbers on, every hook the runtime makes draws from the runtime's one counter.
   *
   * Blocks handed out before the hooks have no debug header: free them before, or they are
   * reported as a bad API id. Hence pymalloc must not yet hold blocks of an unhooked RAW domain.
   *
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` in a free-threaded runtime (create
   *   it with a `_debug` configuration instead), and when RAW is not hooked yet and
   *   pymalloc already holds RAW blocks (its arenas vector after its first arena, or a large
   *   block); nothing changes then. `ERR_TSMALLOC_OUT_OF_MEMORY` when a domain cannot provide the
   *   hooks' state block; the domains hooked so far are given their allocators back (except RAW
   *   when pymalloc has meanwhile made its first arena through RAW's new hooks).
   */
  setupDebugHooks(): void {
    if (this.#threads !== null) {
      throw optionError("setupDebugHooks", "a free-threaded runtime's debug hooks are its configuration's: create it with a _debug configuration (every thread's heaps then have hooks from the start)");
    }
    const table = this.#table;
    const pymalloc = this.#pymalloc;
    if (!isDebugAllocator(table.raw) && pymalloc !== null && holdsRawBlocks(pymalloc)) {
      throw optionError(
        "setupDebugHooks",
        "pymalloc already holds blocks of the RAW domain made without debug hooks (its arenas vector or large blocks); " +
          'install the hooks before the first MEM or OBJ allocation, or create the runtime with allocator "pymalloc_debug"',
      );
    }
    // one domain at a time, in CPython's order, each installed before the next is made: making
    // the MEM hooks allocates their state block from pymalloc, which may create pymalloc's first
    // arena, whose arenas vector must then come from the hooked RAW domain
    const before: DomainTable = { raw: table.raw, mem: table.mem, obj: table.obj };
    const made: DebugAllocator[] = [];
    // the runtime's one serial counter: the first hooks it makes start it, the others draw from it
    let serialCounter = recordedSerialCounter(this.memory, this.address);
    try {
      for (const domain of DOMAINS) {
        const current = table[domain];
        if (isDebugAllocator(current)) continue;
        const hooks = withDebugHooks(current, {
          ...this.#debugOptions,
          api: apiIdOf(domain),
          serialCounter: serialCounter === 0 ? "new" : serialCounter,
          layout: this.#debugLayout,
        });
        made.push(hooks);
        table[domain] = hooks;
        if (serialCounter === 0) serialCounter = hooks.serialCounter;
      }
    } catch (error) {
      // undo: give each domain its allocator back and the hooks' state blocks to their allocators;
      // RAW keeps its hooks if pymalloc made blocks through them in the meantime (RAW hooks made
      // here mean pymalloc held no RAW block before, or the check above would have thrown)
      const keepRaw = pymalloc !== null && holdsRawBlocks(pymalloc);
      for (const hooks of made) {
        if (keepRaw && hooks.api === "r") {
          if (hooks.serialCounter !== 0) recordSerialCounter(this.memory, this.address, hooks.serialCounter);
          continue;
        }
        const domain = domainOf(hooks);
        table[domain] = before[domain];
        hooks.wrapped.free(hooks.stateAddress);
      }
      throw error;
    }
    if (serialCounter !== 0) recordSerialCounter(this.memory, this.address, serialCounter);
    for (const hooks of made) {
      // recorded for attachRuntime when the hooks sit on the runtime's own allocator
      if (hooks.wrapped === this.#malloc || hooks.wrapped === this.#pymalloc) recordHooks(this.memory, this.address, domainOf(hooks), hooks.stateAddress);
    }
  }

  /**
   * CPython's `_PyMem_GetCurrentAllocatorName()`: the configuration the installed allocators
   * match, whatever name the runtime was created with.
   *
   * @returns `"malloc"` (the system malloc in all three domains), `"pymalloc"` (malloc for RAW,
   *   this runtime's pymalloc for MEM and OBJ), `"malloc_debug"` / `"pymalloc_debug"` (the same,
   *   each wrapped directly in debug hooks of its domain's API id), or null for any other setup;
   *   never `"default"` or `"debug"`
   */
  allocatorName(): AllocatorName | null {
    const { raw, mem, obj } = this.#table;
    let malloc = this.#malloc;
    let pymalloc = this.#pymalloc;
    if (this.#threads !== null) {
      const fronts = this.#fronts!;
      const bound = this.#threads.bound;
      // before this thread's heaps exist, its untouched domains are what the configuration makes
      if (raw === fronts.raw && mem === fronts.mem && obj === fronts.obj) return nameOfPlan(this.#plan);
      if (bound === null) return null;
      malloc = bound.malloc;
      pymalloc = bound.pymalloc;
    }
    if (malloc === null) return null;
    if (raw === malloc) {
      if (mem === malloc && obj === malloc) return "malloc";
      if (pymalloc !== null && mem === pymalloc && obj === pymalloc) return "pymalloc";
      return null;
    }
    if (!hooksOver(raw, "r", malloc)) return null;
    if (hooksOver(mem, "m", malloc) && hooksOver(obj, "o", malloc)) return "malloc_debug";
    if (pymalloc !== null && hooksOver(mem, "m", pymalloc) && hooksOver(obj, "o", pymalloc)) return "pymalloc_debug";
    return null;
  }

  /**
   * pymalloc's arena allocator (CPython's `PyObject_GetArenaAllocator`). In the malloc
   * configurations there is no pymalloc; the runtime then keeps the setting, which has no effect,
   * as in CPython.
   */
  getArenaAllocator(): ArenaAllocator {
    if (this.#pymalloc !== null) return this.#pymalloc.getArenaAllocator();
    const own = this.#threads?.bound?.pymalloc;
    if (own !== undefined && own !== null) return own.getArenaAllocator();
    return (this.#arenaAllocator ??= regionArenaAllocator(this.memory));
  }

  /**
   * Replaces pymalloc's arena allocator (CPython's `PyObject_SetArenaAllocator`); see
   * `Pymalloc#setArenaAllocator` for what it must accept.
   *
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` unless it has `alloc` and `free`,
   *   and in a free-threaded runtime (every thread's arenas come from the default allocator)
   */
  setArenaAllocator(allocator: ArenaAllocator): void {
    if (this.#threads !== null) {
      throw optionError("setArenaAllocator", "a free-threaded runtime keeps pymalloc's default arena allocator (every thread's arenas are marked in the heap-slot table)");
    }
    if (this.#pymalloc !== null) {
      this.#pymalloc.setArenaAllocator(allocator);
      return;
    }
    if (typeof allocator !== "object" || allocator === null || typeof allocator.alloc !== "function" || typeof allocator.free !== "function") {
      throw optionError("setArenaAllocator", `the arena allocator must have alloc(size) and free(address, size), got ${describeValue(allocator)}`);
    }
    this.#arenaAllocator = allocator;
  }

  // ---------------------------------------------------------------------------------------------
  // The entry points (PyMem_Raw*, PyMem_*, PyObject_*)

  /**
   * `PyMem_RawMalloc`: `size` bytes from the RAW domain.
   * @returns the block, or 0 (NULL) when `size` exceeds {@link MAX_REQUEST_SIZE} or the
   *   allocator has no memory; `rawMalloc(0)` gives a distinct non-NULL pointer
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_SIZE` unless `size` is a non-negative integer
   */
  rawMalloc(size: number): number {
    if (typeof size !== "number" || size > MAX_REQUEST_SIZE) return refuseSize(size, "rawMalloc");
    return this.#table.raw.malloc(size);
  }

  /**
   * `PyMem_RawCalloc`: `nelem * elsize` zeroed bytes from the RAW domain.
   * @returns the block, or 0 when the product exceeds {@link MAX_REQUEST_SIZE} or there is no memory
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_SIZE` unless both are non-negative integers
   */
  rawCalloc(nelem: number, elsize: number): number {
    if (typeof nelem !== "number" || typeof elsize !== "number" || (elsize !== 0 && nelem > MAX_REQUEST_SIZE / elsize)) return refuseCalloc(nelem, elsize, "rawCalloc");
    return this.#table.raw.calloc(nelem, elsize);
  }

  /**
   * `PyMem_RawRealloc`: resizes a RAW block (`ptr` 0: as `rawMalloc`).
   * @returns the block's address, or 0 when `size` exceeds {@link MAX_REQUEST_SIZE} or there is
   *   no memory, the old block then intact
   * @throws {@link TsmallocError} for an invalid size or a pointer the allocator rejects
   */
  rawRealloc(ptr: number, size: number): number {
    if (typeof size !== "number" || size > MAX_REQUEST_SIZE) return refuseRealloc(ptr, size, "rawRealloc");
    return this.#table.raw.realloc(ptr, size);
  }

  /**
   * `PyMem_RawFree`: frees a RAW block. Every pointer, 0 included, goes to the domain's allocator,
   * as in CPython (a hook installed with {@link Runtime.setAllocator} sees `free(0)`); every
   * tsmalloc allocator treats 0 as a no-op.
   * @throws {@link TsmallocError} for a pointer the allocator rejects
   */
  rawFree(ptr: number): void {
    this.#table.raw.free(ptr);
  }

  /** `PyMem_Malloc`: as {@link Runtime.rawMalloc}, from the MEM domain. */
  memMalloc(size: number): number {
    if (typeof size !== "number" || size > MAX_REQUEST_SIZE) return refuseSize(size, "memMalloc");
    return this.#table.mem.malloc(size);
  }

  /** `PyMem_Calloc`: as {@link Runtime.rawCalloc}, from the MEM domain. */
  memCalloc(nelem: number, elsize: number): number {
    if (typeof nelem !== "number" || typeof elsize !== "number" || (elsize !== 0 && nelem > MAX_REQUEST_SIZE / elsize)) return refuseCalloc(nelem, elsize, "memCalloc");
    return this.#table.mem.calloc(nelem, elsize);
  }

  /** `PyMem_Realloc`: as {@link Runtime.rawRealloc}, in the MEM domain. */
  memRealloc(ptr: number, size: number): number {
    if (typeof size !== "number" || size > MAX_REQUEST_SIZE) return refuseRealloc(ptr, size, "memRealloc");
    return this.#table.mem.realloc(ptr, size);
  }

  /** `PyMem_Free`: as {@link Runtime.rawFree}, in the MEM domain. */
  memFree(ptr: number): void {
    this.#table.mem.free(ptr);
  }

  /** `PyObject_Malloc`: as {@link Runtime.rawMalloc}, from the OBJ domain. */
  objMalloc(size: number): number {
    if (typeof size !== "number" || size > MAX_REQUEST_SIZE) return refuseSize(size, "objMalloc");
    return this.#table.obj.malloc(size);
  }

  /** `PyObject_Calloc`: as {@link Runtime.rawCalloc}, from the OBJ domain. */
  objCalloc(nelem: number, elsize: number): number {
    if (typeof nelem !== "number" || typeof elsize !== "number" || (elsize !== 0 && nelem > MAX_REQUEST_SIZE / elsize)) return refuseCalloc(nelem, elsize, "objCalloc");
    return this.#table.obj.calloc(nelem, elsize);
  }

  /** `PyObject_Realloc`: as {@link Runtime.rawRealloc}, in the OBJ domain. */
  objRealloc(ptr: number, size: number): number {
    if (typeof size !== "number" || size > MAX_REQUEST_SIZE) return refuseRealloc(ptr, size, "objRealloc");
    return this.#table.obj.realloc(ptr, size);
  }

  /** `PyObject_Free`: as {@link Runtime.rawFree}, in the OBJ domain. */
  objFree(ptr: number): void {
    this.#table.obj.free(ptr);
  }

  // ---------------------------------------------------------------------------------------------
  // Statistics, checks, fault injection

  /**
   * CPython's `_PyObject_DebugMallocStats` / `sys._debugmallocstats()`: pymalloc's statistics
   * table when OBJ is served by pymalloc, directly or through debug hooks.
   * @returns the table's text, or `""` when OBJ is not pymalloc
   */
  debugMallocStats(): string {
    if (this.#threads !== null) return this.#threadedStats();
    let obj = this.#table.obj;
    while (isDebugAllocator(obj)) obj = obj.wrapped;
    return obj instanceof Pymalloc ? obj.formatStats() : "";
  }

  /**
   * Checks the runtime's own heaps: the system malloc and, when there is one, pymalloc. Never
   * throws for a broken heap; it reports.
   * @returns every broken invariant found, each message prefixed with the heap's name
   */
  check(): HeapCheck {
    const problems: HeapProblem[] = [];
    const threads = this.#threads;
    if (threads !== null) {
      for (const slot of threads.slotsWithHeaps()) {
        const { malloc, pymalloc } = threads.open(slot);
        for (const heap of pymalloc === null ? [malloc] : [malloc, pymalloc]) {
          for (const problem of heap.check().problems) problems.push({ address: problem.address, message: `slot ${slot} ${heap.name}: ${problem.message}` });
        }
      }
      return { ok: problems.length === 0, problems };
    }
    const malloc = this.#malloc!;
    for (const heap of this.#pymalloc === null ? [malloc] : [malloc, this.#pymalloc]) {
      for (const problem of heap.check().problems) problems.push({ address: problem.address, message: `${heap.name}: ${problem.message}` });
    }
    return { ok: problems.length === 0, problems };
  }

  /**
   * debugMallocStats() of a free-threaded runtime: the table of every thread's pymalloc heap, then
   * the table of all of them together.
   */
  #threadedStats(): string {
    const threads = this.#threads!;
    if (!this.#plan.pymalloc) return "";
    const parts: string[] = [];
    const all = [];
    const slots = threads.slotsWithHeaps();
    for (const slot of slots) {
      const pymalloc = threads.open(slot).pymalloc;
      if (pymalloc === null) continue;
      const stats = pymalloc.stats();
      all.push(stats);
      const state = threads.table.state(slot);
      const whose = slot === threads.slot ? "this thread's" : state === HeapSlotState.Owned ? "another thread's" : state === HeapSlotState.Borrowed ? "abandoned, borrowed" : "abandoned";
      parts.push(`pymalloc heap of heap slot ${slot} (${whose}):\n${formatStats(stats)}`);
    }
    const total = sumStats(all);
    if (total === null) return "";
    parts.push(`all ${all.length} pymalloc heaps together:\n${formatStats(total)}`);
    return parts.join("\n");
  }

  /**
   * Fault injection for tests (CPython's `_testcapi.set_nomemory(start, stop)`): from now on the
   * malloc, calloc and realloc calls of all three domains are numbered from 1 (one count across
   * the domains, pymalloc's own RAW requests included), and call `n` returns 0 when
   * `start < n` and (`stop` is 0 or `n <= stop`). Frees always go through. The hooks wrap the
   * domains' current allocators; called again, it keeps the hooks and restarts the count.
   *
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_SIZE` unless `start` and `stop` are
   *   non-negative integers
   */
  setNoMemory(start: number, stop: number = 0): void {
    if (!isAddress(start)) throw new TsmallocError(ErrorCode.InvalidSize, `setNoMemory: start must be a non-negative integer, got ${describeValue(start)}`);
    if (!isAddress(stop)) throw new TsmallocError(ErrorCode.InvalidSize, `setNoMemory: stop must be a non-negative integer, got ${describeValue(stop)}`);
    let faults = this.#faults;
    if (faults === null) {
      const table = this.#table;
      const counter = new FaultCounter();
      faults = { counter, saved: { raw: table.raw, mem: table.mem, obj: table.obj } };
      table.raw = new FaultInjectionAllocator(table.raw, counter);
      table.mem = new FaultInjectionAllocator(table.mem, counter);
      table.obj = new FaultInjectionAllocator(table.obj, counter);
      this.#faults = faults;
    }
    faults.counter.start = start;
    faults.counter.stop = stop;
    faults.counter.count = 0;
  }

  /**
   * Removes the hooks of {@link Runtime.setNoMemory} (CPython's `_testcapi.remove_mem_hooks()`),
   * giving each domain back the allocator it had when they were installed. Does nothing when
   * none are installed.
   */
  removeMemHooks(): void {
    const faults = this.#faults;
    if (faults === null) return;
    this.#table.raw = faults.saved.raw;
    this.#table.mem = faults.saved.mem;
    this.#table.obj = faults.saved.obj;
    this.#faults = null;
  }

  /** True when statistics are printed (option `stats`, `TSMALLOCSTATS`) and the runtime is open. */
  get printsStats(): boolean {
    return this.#stats && !this.#closed && (this.#threads === null ? this.#pymalloc !== null : this.#plan.pymalloc);
  }

  /**
   * Closes the runtime the way interpreter shutdown does: when statistics are on, prints
   * pymalloc's statistics one last time (`PYTHONMALLOCSTATS` at exit) and stops printing them.
   * The heaps stay as they are and usable: the memory belongs to whoever made it. Calling it
   * again does nothing.
   *
   * In a free-threaded runtime it ends this thread's use of its heaps, as a thread that exits
   * does in CPython's free-threaded build: the blocks other threads freed into them are freed,
   * and its heap slot is abandoned, with whatever is still live in its heaps, for the next thread
   * that attaches (which adopts them). Call it in every worker before it ends. A later call
   * through this runtime takes a slot again, as a new thread would. A hook installed with
   * `setAllocator` after this thread's first call wraps its heaps themselves: take it out before
   * `close()` and install it again after (a call through it would reach heaps this thread no
   * longer holds); `onClose` listeners run first, for that.
   */
  close(): void {
    const threads = this.#threads;
    if (threads !== null) {
      // free-threaded: this thread lets its slot go (its next call, if any, takes one again)
      if (threads.slot === 0) return;
      this.#callCloseListeners();
      const bound = threads.bound;
      if (this.printsStats && bound !== null && bound.pymalloc !== null) this.#statsOutput(bound.pymalloc.formatStats());
      this.#closed = true;
      threads.release();
      if (bound !== null) {
        const table = this.#table;
        for (const domain of DOMAINS) if (table[domain] === bound.domains[domain]) table[domain] = this.#fronts![domain];
      }
      return;
    }
    if (this.#closed) return;
    this.#callCloseListeners();
    if (this.printsStats && this.#pymalloc !== null) this.#statsOutput(this.#pymalloc.formatStats());
    this.#closed = true;
  }

  #callCloseListeners(): void {
    // a copy: a listener may remove itself (a tracer that stops)
    for (const listener of this.#closeListeners.slice()) listener();
  }

  #printStats(heap: Pymalloc): void {
    if (this.#stats && !this.#closed) this.#statsOutput(heap.formatStats());
  }

  #requireAllocator(value: unknown, fn: string): Allocator {
    const a = value as Partial<Allocator> | null;
    if (
      typeof a !== "object" || a === null ||
      typeof a.malloc !== "function" || typeof a.calloc !== "function" ||
      typeof a.realloc !== "function" || typeof a.free !== "function" ||
      typeof a.name !== "string"
    ) {
      throw optionError(fn, `the allocator must be an Allocator (name, memory, malloc, calloc, realloc, free), got ${describeValue(value)}`);
    }
    if (a.memory !== this.memory) throw optionError(fn, `allocator "${a.name}" must allocate from this runtime's memory`);
    return a as Allocator;
  }

  /** The error for a value that should have been a Runtime. @internal */
  static notARuntime(fn: string, value: unknown): TsmallocError {
    return optionError(fn, `expected a Runtime (from createRuntime), got ${describeValue(value)}`);
  }

  /** @internal */
  static attachRecord(memory: LinearMemory, address: number, record: RuntimeRecord, options: AttachRuntimeOptions): Runtime {
    if (typeof options !== "object" || options === null) throw optionError("attachRuntime", `options must be an object, got ${describeValue(options)}`);
    const attached: AttachedOptions = { ...(options as RuntimeOptions), [ATTACHED]: { memory, address, record } };
    return new Runtime(attached);
  }
}

/**
 * Creates a runtime over `options.memory` (default: a new growable `WebAssembly.Memory`) in the
 * configuration `options.allocator` (default `"default"`: malloc for RAW, pymalloc for MEM and
 * OBJ). The runtime's record goes into the memory, so {@link attachRuntime} can open it in other
 * workers.
 *
 * With `freeThreading: true` the runtime gives every thread heaps of its own (see
 * {@link RuntimeOptions.freeThreading}): `memory` must be a shared LinearMemory; the runtime maps
 * the memory's heap-slot table (128 KiB), and this thread takes slot 1 and makes its heaps now.
 *
 * @throws {@link TsmallocError} `ERR_TSMALLOC_UNKNOWN_ALLOCATOR` for a configuration name that
 *   is not one of {@link ALLOCATOR_CONFIGS} (the mimalloc names are reserved);
 *   `ERR_TSMALLOC_INVALID_OPTION` for a bad option, `freeThreading` without a shared memory or
 *   with `pymalloc.arenaAllocator` (both before anything is allocated);
 *   `ERR_TSMALLOC_OUT_OF_MEMORY` when the memory cannot hold the heaps' first structures (what was
 *   made before that stays in the memory: at least the malloc heap's first segment)
 */
export function createRuntime(options: RuntimeOptions = {}): Runtime {
  return new Runtime(options);
}

/**
 * Opens, in this thread, the runtime that {@link createRuntime} made in `memory` (another
 * worker's, over a shared memory, or a buffer saved and loaded again): the same system malloc,
 * pymalloc and debug hooks (those of its configuration, and those `setupDebugHooks()` added).
 * Allocators installed with `setAllocator` are each thread's own and are not carried over.
 *
 * RAW works from every thread. MEM and OBJ follow CPython's rule: with debug hooks they refuse
 * calls from any thread but the one that created the runtime (`ERR_TSMALLOC_WRONG_THREAD`, unless
 * `debug.checkThread` is false); without hooks, pymalloc and malloc take their locks.
 *
 * A free-threaded runtime (`createRuntime({ freeThreading: true })`) gives this thread heaps of its
 * own instead: it claims one of the memory's 255 heap slots now (adopting the heaps of a thread
 * that closed, when there is one) and makes or opens the slot's heaps on its first call. Every
 * domain works from every thread (the debug hooks' thread check is off, as in CPython's
 * free-threaded build). Call `runtime.close()` before the thread ends.
 *
 * @param address the runtime's {@link Runtime.address}; default the first runtime made in `memory`
 * @throws {@link TsmallocError} `ERR_TSMALLOC_INCOMPATIBLE` when there is no runtime record there
 *   or its heaps cannot be opened; `ERR_TSMALLOC_INVALID_OPTION` for a bad option;
 *   `ERR_TSMALLOC_THREAD_LIMIT` when every heap slot of a free-threaded runtime is held
 */
export function attachRuntime(memory: LinearMemory, address?: number, options: AttachRuntimeOptions = {}): Runtime {
  if (!(memory instanceof LinearMemory)) throw optionError("attachRuntime", `memory must be a LinearMemory, got ${describeValue(memory)}`);
  const at = address ?? memory.getRoot(RUNTIME_ROOT_TAG);
  if (at === 0) throw new TsmallocError(ErrorCode.Incompatible, "attachRuntime: no runtime is recorded in this memory");
  if (!isAddress(at)) throw new TsmallocError(ErrorCode.Incompatible, `attachRuntime: ${describeValue(at)} is not the address of a runtime record`);
  const record = readRecord(memory, at);
  if (typeof record === "string") throw new TsmallocError(ErrorCode.Incompatible, `attachRuntime: ${record}`, { address: at });
  return Runtime.attachRecord(memory, at, record, options);
}

/** The domain debug hooks were made for, by their API id. */
function domainOf(hooks: DebugAllocator): Domain {
  return hooks.api === "r" ? Domain.RAW : hooks.api === "m" ? Domain.MEM : Domain.OBJ;
}

/**
 * True when pymalloc holds RAW blocks that may still be resized or freed: its arenas vector
 * (made with its first arena) or large blocks. The state block and the arena map are never
 * given back, so debug hooks can come after them.
 */
function holdsRawBlocks(pymalloc: Pymalloc): boolean {
  const state = inspectState(pymalloc);
  return state.arenas !== 0 || state.rawAllocatedBlocks !== 0;
}

/** True when `allocator` is debug hooks of API `api` directly over `base`. */
function hooksOver(allocator: Allocator, api: string, base: Allocator): boolean {
  return isDebugAllocator(allocator) && allocator.api === api && allocator.wrapped === base;
}

const PYMALLOC_KEYS: ReadonlySet<string> = new Set(["layout", "checks", "arenaAllocator"]);

/**
 * Checks the pymalloc options as Pymalloc's constructor would, before the runtime allocates
 * anything (the malloc heap comes first), so that a bad one leaves the memory untouched.
 */
function checkPymallocOptions(options: NonNullable<RuntimeOptions["pymalloc"]>, fn: string): void {
  for (const key of Object.keys(options)) {
    if (!PYMALLOC_KEYS.has(key)) throw optionError(fn, `unknown pymalloc option ${JSON.stringify(key)} (expected layout, checks, arenaAllocator)`);
  }
  try {
    resolveLayout(options.layout);
  } catch (error) {
    throw new TsmallocError(ErrorCode.InvalidOption, `${fn}: pymalloc options: ${(error as Error).message}`, { cause: error });
  }
  if (options.checks !== undefined && typeof options.checks !== "boolean") throw optionError(fn, `pymalloc.checks must be a boolean, got ${describeValue(options.checks)}`);
  const arenas = options.arenaAllocator;
  if (arenas !== undefined && (typeof arenas !== "object" || arenas === null || typeof arenas.alloc !== "function" || typeof arenas.free !== "function")) {
    throw optionError(fn, `pymalloc.arenaAllocator must have alloc(size) and free(address, size), got ${describeValue(arenas)}`);
  }
}

function requireDomain(domain: unknown, fn: string): Domain {
  if (!isDomain(domain)) throw optionError(fn, `domain must be "raw", "mem" or "obj" (Domain.RAW, Domain.MEM, Domain.OBJ), got ${describeValue(domain)}`);
  return domain;
}

function optionError(fn: string, message: string): TsmallocError {
  return new TsmallocError(ErrorCode.InvalidOption, `${fn}: ${message}`);
}

interface ProcessLike {
  readonly stderr?: { write(text: string): unknown };
}

interface ConsoleLike {
  error(text: string): void;
}

/** The default statistics output: standard error, or the console where there is no process. */
function writeToStderr(text: string): void {
  const host = globalThis as { process?: ProcessLike; console?: ConsoleLike };
  const stderr = host.process?.stderr;
  if (stderr !== undefined) stderr.write(text);
  else host.console?.error(text);
}

/** The name allocatorName() gives a configuration's untouched domains. */
function nameOfPlan(plan: ConfigPlan): AllocatorName {
  return plan.pymalloc ? (plan.debug ? "pymalloc_debug" : "pymalloc") : plan.debug ? "malloc_debug" : "malloc";
}
