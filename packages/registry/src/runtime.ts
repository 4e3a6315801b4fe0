import { checkDebugHookOptions, DebugAllocator, type DebugHookOptions, type DebugThreadOptions, isDebugAllocator, withDebugHooks } from "@tsmalloc/debug";
import { Malloc, type MallocOptions } from "@tsmalloc/malloc";
import {
  type Allocator,
  describeValue,
  ErrorCode,
  type HeapCheck,
  type HeapProblem,
  isAddress,
  LinearMemory,
  TsmallocError,
} from "@tsmalloc/memory";
import { type ArenaAllocator, inspectState, Pymalloc, type PymallocOptions, regionArenaAllocator, resolveLayout } from "@tsmalloc/pymalloc";
import { type AllocatorConfig, type AllocatorName, parseAllocatorConfig, planOf } from "./config-name.ts";
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
  writeRecord,
} from "./runtime-record.ts";

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

const OPTION_KEYS: ReadonlySet<string> = new Set(["memory", "allocator", "platform", "malloc", "pymalloc", "debug", "stats", "statsOutput"]);
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
  /** The system malloc: the RAW domain's allocator, and MEM/OBJ's in the malloc configurations. */
  readonly mallocHeap: Malloc;
  /** The pymalloc heap of MEM and OBJ, or null in the malloc configurations. */
  readonly pymallocHeap: Pymalloc | null;
  /** Address of the runtime's record in the memory: what {@link attachRuntime} takes. */
  readonly address: number;

  readonly #table: DomainTable;
  readonly #debugOptions: Omit<DebugHookOptions, "api" | "serialCounter" | "layout">;
  /** The platform's debug block layout, for the hooks this runtime makes. */
  readonly #debugLayout: "64-bit" | "wasm32";
  #arenaAllocator: ArenaAllocator | null;
  #faults: { readonly counter: FaultCounter; readonly saved: DomainTable } | null = null;
  readonly #stats: boolean;
  readonly #statsOutput: (text: string) => void;
  #closed = false;

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
    const onNewArena = (heap: Pymalloc): void => this.#printStats(heap);

    if (attaching !== undefined) {
      const { memory, record } = attaching;
      this.memory = memory;
      this.config = record.config;
      this.platform = record.platform;
      this.#debugLayout = record.platform;
      this.mallocHeap = Malloc.attach(memory, record.malloc);
      const malloc = this.mallocHeap;
      const table: DomainTable = { raw: malloc, mem: malloc, obj: malloc };
      this.#table = table;
      if (record.hooks.raw !== 0) table.raw = DebugAllocator.attach(malloc, record.hooks.raw, this.#debugOptions);
      if (record.pymalloc !== 0) {
        this.pymallocHeap = Pymalloc.attach(new RawDomainAllocator(table, memory), record.pymalloc, { onNewArena });
        table.mem = table.obj = this.pymallocHeap;
      } else {
        this.pymallocHeap = null;
      }
      const base = table.mem;
      if (record.hooks.mem !== 0) table.mem = DebugAllocator.attach(base, record.hooks.mem, this.#debugOptions);
      if (record.hooks.obj !== 0) table.obj = DebugAllocator.attach(base, record.hooks.obj, this.#debugOptions);
      this.#arenaAllocator = null;
      this.address = attaching.address;
      return;
    }

    const memory = options.memory ?? new LinearMemory();
    if (!(memory instanceof LinearMemory)) throw optionError(fn, `memory must be a LinearMemory, got ${describeValue(memory)}`);
    this.memory = memory;
    this.config = parseAllocatorConfig(options.allocator, "createRuntime");
    const plan = planOf(this.config);
    const pymallocOptions = options.pymalloc ?? {};
    if (typeof pymallocOptions !== "object" || pymallocOptions === null) throw optionError(fn, `pymalloc must be an object, got ${describeValue(pymallocOptions)}`);
    checkPymallocOptions(pymallocOptions, fn);
    const platform = planPlatform(options.platform, pymallocOptions.layout, fn);
    this.platform = platform.platform;
    this.#debugLayout = platform.debugLayout;

    const mallocOptions = options.malloc ?? {};
    if (typeof mallocOptions !== "object" || mallocOptions === null) throw optionError(fn, `malloc must be an object, got ${describeValue(mallocOptions)}`);
    this.mallocHeap = new Malloc(memory, { ...mallocOptions });
    const malloc = this.mallocHeap;
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
      this.pymallocHeap = new Pymalloc(new RawDomainAllocator(table, memory), { ...pymallocOptions, layout: platform.pymallocLayout, onNewArena });
      table.mem = table.obj = this.pymallocHeap;
      this.#arenaAllocator = null;
    } else {
      this.pymallocHeap = null;
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
    writeRecord(memory, address, { config: this.config, platform: this.platform, malloc: malloc.address, pymalloc: this.pymallocHeap?.address ?? 0, hooks, serialCounter });
    if (memory.getRoot(RUNTIME_ROOT_TAG) === 0) memory.setRoot(RUNTIME_ROOT_TAG, address);
    this.address = address;
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
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` when RAW is not hooked yet and
   *   pymalloc already holds RAW blocks (its arenas vector after its first arena, or a large
   *   block); nothing changes then. `ERR_TSMALLOC_OUT_OF_MEMORY` when a domain cannot provide the
   *   hooks' state block; the domains hooked so far are given their allocators back (except RAW
   *   when pymalloc has meanwhile made its first arena through RAW's new hooks).
   */
  setupDebugHooks(): void {
    const table = this.#table;
    const pymalloc = this.pymallocHeap;
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
      if (hooks.wrapped === this.mallocHeap || hooks.wrapped === this.pymallocHeap) recordHooks(this.memory, this.address, domainOf(hooks), hooks.stateAddress);
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
    const malloc = this.mallocHeap;
    const pymalloc = this.pymallocHeap;
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
    if (this.pymallocHeap !== null) return this.pymallocHeap.getArenaAllocator();
    return (this.#arenaAllocator ??= regionArenaAllocator(this.memory));
  }

  /**
   * Replaces pymalloc's arena allocator (CPython's `PyObject_SetArenaAllocator`); see
   * `Pymalloc#setArenaAllocator` for what it must accept.
   *
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` unless it has `alloc` and `free`
   */
  setArenaAllocator(allocator: ArenaAllocator): void {
    if (this.pymallocHeap !== null) {
      this.pymallocHeap.setArenaAllocator(allocator);
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
    for (const heap of this.pymallocHeap === null ? [this.mallocHeap] : [this.mallocHeap, this.pymallocHeap]) {
      for (const problem of heap.check().problems) problems.push({ address: problem.address, message: `${heap.name}: ${problem.message}` });
    }
    return { ok: problems.length === 0, problems };
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
    return this.#stats && !this.#closed && this.pymallocHeap !== null;
  }

  /**
   * Closes the runtime the way interpreter shutdown does: when statistics are on, prints
   * pymalloc's statistics one last time (`PYTHONMALLOCSTATS` at exit) and stops printing them.
   * The heaps stay as they are and usable: the memory belongs to whoever made it. Calling it
   * again does nothing.
   */
  close(): void {
    if (this.#closed) return;
    if (this.printsStats && this.pymallocHeap !== null) this.#statsOutput(this.pymallocHeap.formatStats());
    this.#closed = true;
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
 * @throws {@link TsmallocError} `ERR_TSMALLOC_UNKNOWN_ALLOCATOR` for a configuration name that
 *   is not one of {@link ALLOCATOR_CONFIGS} (the mimalloc names are reserved);
 *   `ERR_TSMALLOC_INVALID_OPTION` for a bad option (both before anything is allocated);
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
 * @param address the runtime's {@link Runtime.address}; default the first runtime made in `memory`
 * @throws {@link TsmallocError} `ERR_TSMALLOC_INCOMPATIBLE` when there is no runtime record there
 *   or its heaps cannot be opened; `ERR_TSMALLOC_INVALID_OPTION` for a bad option
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
