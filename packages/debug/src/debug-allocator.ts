import {
  type Allocator,
  type AllocatorStats,
  checkOversize,
  describeValue,
  ErrorCode,
  formatAddress,
  type HeapCheck,
  isAddress,
  isTsmallocError,
  type LinearMemory,
  requireAddress,
  TsmallocError,
} from "@tsmalloc/memory";
import { type ApiId, CLEANBYTE, DEADBYTE, ERASED_SIZE, isApiId } from "./constants.ts";
import { type DebugLayout, DebugLayouts } from "./debug-layout.ts";
import { dumpBlockText } from "./dump.ts";
import { DebugCorruptionError, type OnCorruption, optionError, pointerError } from "./errors.ts";
import { isObjectFreed } from "./is-freed.ts";
import {
  BAD_ID,
  BLOCK_OK,
  checkBlock,
  copyIn,
  copyOut,
  fillBytes,
  formatApiByte,
  problemMessage,
  readSize,
  writeField,
  writeHeader,
  writeTrailer,
} from "./layout.ts";
import { type DebugHookOptions, type DebugThreadOptions, hookSettings, requireAllocator, threadSettings } from "./options.ts";
import { memorySerialCounter, nextSerial, recordMemorySerialCounter, requireCounterInMemory, SERIAL_COUNTER_BYTES } from "./serial-counter.ts";
import {
  FLAG_SERIAL,
  FLAG_WASM32,
  KNOWN_FLAGS,
  S_API_FLAGS,
  S_COUNTER,
  S_MAGIC,
  S_OWNER_HIGH,
  S_OWNER_LOW,
  S_VERSION,
  STATE_BYTES,
  STATE_COUNTER_OFFSET,
  STATE_MAGIC,
  STATE_VERSION,
  writeState,
} from "./state.ts";
import { threadToken } from "./thread.ts";
import { providedTraceback } from "./traceback-provider.ts";
import { type CapturedStack, captureStack, stackFrames, traceTable, type TracebackFrame, tracebackText } from "./traceback.ts";

/** The message of the thread check (CPython: "Python memory allocator called without holding the GIL"). */
const WRONG_THREAD = "tsmalloc memory allocator called from a thread that does not own the heap";

/**
 * Where realloc's scratch keeps the serial number: after the first and last ERASED_SIZE data
 * bytes (a word copy of up to 2 * ERASED_SIZE bytes rounds up to at most 2 * ERASED_SIZE).
 */
const SAVED_SERIAL = 2 * ERASED_SIZE;

/** Bytes of realloc's scratch: the data bytes it saves, then a serial number (up to 8 bytes). */
const SAVE_BYTES = SAVED_SERIAL + 8;

/** The status a process ends with on `onCorruption: "abort"`: 128 + SIGABRT, as after abort(). */
const ABORT_STATUS = 134;

/** What attach() read from a state block, for the constructor: the block to open and its settings. */
interface AttachedState {
  readonly address: number;
  readonly api: ApiId;
  readonly serialNumbers: boolean;
  readonly counter: number;
  readonly layout: DebugLayout;
}

/**
 * The key under which attach() hands the constructor the state block it checked. Only this
 * module can name it, so a caller's options never carry it.
 */
const ATTACHED: unique symbol = Symbol("DebugAllocator.attach");

/** The constructor's options as attach() passes them. */
interface AttachedOptions extends DebugHookOptions {
  readonly [ATTACHED]: AttachedState;
}

interface ProcessLike {
  readonly stderr?: { write(text: string): unknown };
  exit(code: number): never;
}

/**
 * CPython's debug hooks (`PyMem_SetupDebugHooks`, `PYTHONMALLOC=debug`) around any
 * {@link Allocator}, for one API: RAW (`"r"`), MEM (`"m"`) or OBJ (`"o"`). Make it with
 * {@link withDebugHooks}.
 *
 * Every block gets CPython's layout (the 64-bit one by default, option `layout`): SST bytes of
 * requested size (big-endian), the API id byte, SST - 1 pad bytes of 0xFD, the data (0xCD unless
 * calloc'd), SST pad bytes of 0xFD, and an SST-byte serial number when serial numbers are on;
 * SST (`sizeof(size_t)`) is 8 on 64-bit, 4 on wasm32. A freed block is filled with 0xDD, header
 * and trailer included, before it goes back to the wrapped allocator. free, realloc and usableSize check the
 * block first, in CPython's order (API id, leading pad, trailing pad); a double free and a write
 * after free show as a bad API id. A failed check produces CPython's report and then throws,
 * aborts or calls a handler (option `onCorruption`). MEM and OBJ hooks also refuse calls from any
 * thread but their owner (CPython's GIL check).
 *
 * The hot paths allocate nothing; all that the hooks add per call is the header and trailer
 * writes, the fills and the checks (see the README for the cost).
 *
 * @example
 * ```ts
 * const mem = withDebugHooks(new Malloc(), { api: "m" });
 * const p = mem.malloc(16);
 * mem.memory.u8[p + 16] = 0x78; // one byte too far
 * mem.free(p); // throws DebugCorruptionError: debugRawFree: bad trailing pad byte
 * ```
 */
export class DebugAllocator implements Allocator {
  /** The wrapped allocator's name with `_debug` after it: `"malloc_debug"`, `"pymalloc_debug"`. */
  readonly name: string;
  /** The memory of the wrapped allocator. */
  readonly memory: LinearMemory;
  /** The allocator these hooks wrap. */
  readonly wrapped: Allocator;
  /** The API id written into blocks and checked. */
  readonly api: ApiId;
  /** True when blocks carry a serial number. */
  readonly serialNumbers: boolean;
  /** Stack frames each allocation remembers; 0 when tracebacks are off. */
  readonly tracebacks: number;
  /** The block layout: `DebugLayouts["64-bit"]` (SST 8) or `DebugLayouts.wasm32` (SST 4). */
  readonly layout: DebugLayout;
  /** Bytes the hooks add to each request: 3 * SST (24, or 12 on wasm32), 4 * SST with serial numbers. */
  readonly extraBytes: number;
  /** Address of the hooks' state block in the memory: what {@link DebugAllocator.attach} takes. */
  readonly stateAddress: number;
  /**
   * Address of the serial counter these hooks draw from (8 bytes in the memory), or 0 when serial
   * numbers are off: pass it as `serialCounter` to make other hooks count in the same sequence.
   */
  readonly serialCounter: number;

  readonly #apiByte: number;
  /** SST, and the header's 2 * SST bytes, of the layout. */
  readonly #sst: number;
  readonly #headerBytes: number;
  readonly #maxRequest: number;
  readonly #foreign: boolean;
  readonly #onCorruption: OnCorruption;
  /** This thread's trace table of these hooks (shared with other handles on the same state). */
  readonly #traces: Map<number, CapturedStack>;
  readonly #preflight: boolean;
  readonly #shared: boolean;
  readonly #stateWord: number;
  readonly #counterWord: number;
  /** realloc's scratch, as words and as bytes (one buffer). */
  readonly #saveWords: Int32Array = new Int32Array(SAVE_BYTES / 4);
  readonly #save: Uint8Array = new Uint8Array(this.#saveWords.buffer);
  /**
   * Per 64 KiB page of the memory: the memory's generation when the wrapped allocator last
   * vouched for a block there (0: never); see #requireKnown. Grown on the slow path.
   */
  #vouched: Uint32Array = new Uint32Array(0);

  /**
   * Wraps `allocator`; prefer {@link withDebugHooks}, which does the same. Allocates the hooks'
   * 32-byte state block from `allocator`.
   *
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` when `allocator` is not an
   *   Allocator over a LinearMemory, an option is invalid, or the allocator hands out a block
   *   that is not 4-byte aligned; `ERR_TSMALLOC_OUT_OF_MEMORY` when it cannot provide the state
   *   block
   */
  constructor(allocator: Allocator, options: DebugHookOptions = {}) {
    const attaching = typeof options === "object" && options !== null ? (options as Partial<AttachedOptions>)[ATTACHED] : undefined;
    const fn = attaching === undefined ? "withDebugHooks" : "DebugAllocator.attach";
    this.wrapped = requireAllocator(allocator, fn);
    const settings = attaching === undefined ? hookSettings(options, fn) : { ...threadSettings(options, fn), ...attaching };
    this.memory = allocator.memory;
    this.name = `${allocator.name}_debug`;
    this.api = settings.api;
    this.serialNumbers = settings.serialNumbers;
    this.tracebacks = settings.tracebacks;
    this.layout = settings.layout;
    this.#sst = settings.layout.sst;
    this.#headerBytes = settings.layout.headerBytes;
    this.extraBytes = settings.serialNumbers ? settings.layout.extraBytesSerial : settings.layout.extraBytes;
    this.#apiByte = settings.api.charCodeAt(0);
    this.#maxRequest = this.memory.maxByteLength - this.extraBytes;
    this.#onCorruption = settings.onCorruption;
    this.#preflight = typeof allocator.usableSize === "function";
    this.#shared = this.memory.shared;

    const token = threadToken();
    if (attaching === undefined) {
      const choice = "serialCounter" in settings ? settings.serialCounter : "memory";
      if (settings.serialNumbers && typeof choice === "number") requireCounterInMemory(this.memory, choice, fn);
      const state = allocator.malloc(STATE_BYTES);
      if (state === 0) {
        throw new TsmallocError(ErrorCode.OutOfMemory, `withDebugHooks: allocator "${allocator.name}" cannot provide the hooks' ${STATE_BYTES}-byte state block`);
      }
      if (!isAddress(state) || state % 4 !== 0) {
        if (isAddress(state)) allocator.free(state);
        throw optionError("withDebugHooks", `allocator "${allocator.name}" must hand out 4-byte aligned blocks`, state);
      }
      // one counter for every hooks that share it (CPython's one serialno); see serial-counter.ts
      let counter = 0;
      if (settings.serialNumbers) {
        counter = typeof choice === "number" ? choice : choice === "memory" ? memorySerialCounter(this.memory) : 0;
        if (counter === 0) counter = state + STATE_COUNTER_OFFSET;
      }
      const flags = (settings.serialNumbers ? FLAG_SERIAL : 0) | (settings.layout.sst === 4 ? FLAG_WASM32 : 0);
      writeState(this.memory, state, this.#apiByte, flags, token, counter);
      if (choice === "memory" && counter === state + STATE_COUNTER_OFFSET) recordMemorySerialCounter(this.memory, counter);
      this.stateAddress = state;
      this.serialCounter = counter;
    } else {
      this.stateAddress = attaching.address;
      this.serialCounter = attaching.counter;
    }
    this.#stateWord = this.stateAddress >>> 2;
    this.#counterWord = this.serialCounter >>> 2;
    this.#traces = traceTable(this.memory.source, this.stateAddress);
    const u32 = this.memory.u32;
    const owned = u32[this.#stateWord + S_OWNER_LOW] === token.low && u32[this.#stateWord + S_OWNER_HIGH] === token.high;
    this.#foreign = settings.api !== "r" && settings.checkThread && !owned;
  }

  /**
   * Opens hooks that {@link withDebugHooks} made over the same heap, from another worker (or
   * from a memory saved and loaded again): `allocator` is that heap opened here (for example
   * `Malloc.attach(memory)`), `address` the hooks' {@link DebugAllocator.stateAddress}. The API
   * id and serial numbers come from the state block, which the hooks share (the serial counter
   * and the owner thread); tracebacks, onCorruption and checkThread are this thread's own
   * choice. Nothing in the memory changes.
   *
   * MEM and OBJ hooks opened in a thread other than their owner refuse every call (unless
   * `checkThread` is false); RAW hooks work in every thread.
   *
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INCOMPATIBLE` when `address` does not hold a state
   *   block of this layout version in the allocator's memory; `ERR_TSMALLOC_INVALID_OPTION` for
   *   a bad allocator or option
   */
  static attach(allocator: Allocator, address: number, options: DebugThreadOptions = {}): DebugAllocator {
    const memory = requireAllocator(allocator, "DebugAllocator.attach").memory;
    threadSettings(options, "DebugAllocator.attach");
    const incompatible = (why: string): TsmallocError =>
      new TsmallocError(ErrorCode.Incompatible, `DebugAllocator.attach: ${why}`, isAddress(address) ? { address } : undefined);
    if (!isAddress(address) || address === 0 || address % 4 !== 0 || address + STATE_BYTES > memory.byteLength) {
      throw incompatible(`${describeValue(address)} is not the address of a debug hooks state block`);
    }
    const u32 = memory.u32;
    const w = address >>> 2;
    if (u32[w + S_MAGIC] !== STATE_MAGIC) throw incompatible(`no debug hooks state block at ${formatAddress(address)}`);
    if (u32[w + S_VERSION] !== STATE_VERSION) {
      throw incompatible(`the state block at ${formatAddress(address)} has layout version ${u32[w + S_VERSION]}, this build reads ${STATE_VERSION}`);
    }
    const api = String.fromCharCode(u32[w + S_API_FLAGS]! & 0xff);
    const flags = u32[w + S_API_FLAGS]! >>> 8;
    const serialNumbers = (flags & FLAG_SERIAL) !== 0;
    const counter = u32[w + S_COUNTER]!;
    const counterFits = serialNumbers ? counter !== 0 && counter % 4 === 0 && counter + SERIAL_COUNTER_BYTES <= memory.byteLength : counter === 0;
    if (!isApiId(api) || (flags & ~KNOWN_FLAGS) !== 0 || !counterFits) {
      throw incompatible(`the state block at ${formatAddress(address)} is damaged`);
    }
    const layout = (flags & FLAG_WASM32) !== 0 ? DebugLayouts.wasm32 : DebugLayouts["64-bit"];
    const attached: AttachedOptions = { ...options, [ATTACHED]: { address, api, serialNumbers, counter, layout } };
    return new DebugAllocator(allocator, attached);
  }

  /**
   * Allocates `size` bytes, filled with 0xCD, between pad bytes. `malloc(0)` makes a block with
   * no data (a unique pointer).
   *
   * @returns the data's address (as aligned as the wrapped allocator's blocks: the header is 16
   *   bytes), or 0 when `size` plus the hooks' bytes exceeds the memory or the wrapped allocator
   *   returns 0
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_SIZE` unless `size` is a non-negative
   *   integer; {@link DebugCorruptionError} `ERR_TSMALLOC_WRONG_THREAD` (MEM/OBJ, per
   *   `onCorruption`) from a thread that does not own the hooks
   */
  malloc(size: number): number {
    if (this.#foreign) return this.#wrongThread("debugMalloc");
    if (typeof size !== "number" || (size >>> 0) !== size) {
      checkOversize(size, "malloc");
      return 0;
    }
    return this.#allocate(size, false, DebugAllocator.prototype.malloc);
  }

  /**
   * Allocates `nelem * elsize` zeroed bytes between pad bytes (the wrapped allocator's calloc
   * zeroes them; they are not filled with 0xCD). A zero product makes a block with no data.
   *
   * @returns the data's address, or 0 when the product plus the hooks' bytes exceeds the memory
   *   or the wrapped allocator returns 0
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_SIZE` unless both are non-negative
   *   integers; {@link DebugCorruptionError} `ERR_TSMALLOC_WRONG_THREAD` as {@link DebugAllocator.malloc}
   */
  calloc(nelem: number, elsize: number): number {
    if (this.#foreign) return this.#wrongThread("debugCalloc");
    if (typeof nelem !== "number" || (nelem >>> 0) !== nelem) checkOversize(nelem, "calloc", "nelem");
    if (typeof elsize !== "number" || (elsize >>> 0) !== elsize) checkOversize(elsize, "calloc", "elsize");
    // both are integers now; a product too large for the memory (exact or not) fails in #allocate
    return this.#allocate(nelem * elsize, true, DebugAllocator.prototype.calloc);
  }

  /**
   * Resizes the block at `ptr` to `size` bytes, as CPython's debug realloc does: checks the
   * block (before the size, so that a damaged block is reported even when `size` is too large), saves its first and last 64 data bytes and fills them, the header and the trailer
   * with 0xDD, calls the wrapped realloc, then writes the new header and trailer, puts the saved
   * bytes back and fills grown bytes with 0xCD. `ptr` 0 is `malloc(size)`.
   *
   * @returns the data's (possibly new) address; or 0 when the request is too large or the
   *   wrapped allocator fails, and the old block is then exactly as it was; or 0 after a failed
   *   check that a handler let pass
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_POINTER` when `ptr` is not an integer
   *   address or its header would lie outside the memory (nothing is read or changed);
   *   `ERR_TSMALLOC_INVALID_SIZE` for a bad size; {@link DebugCorruptionError}
   *   `ERR_TSMALLOC_CORRUPTION` (per `onCorruption`, function `debugRawRealloc`) when the block
   *   fails a check, `ERR_TSMALLOC_WRONG_THREAD` as {@link DebugAllocator.malloc}; whatever the
   *   wrapped allocator throws for a block it does not know (checked before anything changes,
   *   when it has `usableSize`)
   */
  realloc(ptr: number, size: number): number {
    if (this.#foreign) return this.#wrongThread("debugRealloc");
    if (typeof ptr !== "number" || (ptr >>> 0) !== ptr) requireAddress(ptr, "realloc");
    // a valid size of 2^32 or more stays as it is: too large, it returns 0 below
    if (typeof size !== "number" || (size >>> 0) !== size) checkOversize(size, "realloc");
    if (ptr === 0) return this.#allocate(size, false, DebugAllocator.prototype.realloc);
    let u8 = this.memory.u8;
    let i32 = this.memory.i32;
    if (ptr < this.#headerBytes || ptr > u8.length) throw pointerError("realloc", ptr, u8.length, this.#headerBytes);
    // the block first, then the size, as _PyMem_DebugRawRealloc: a damaged block is reported
    // whatever size it is asked to take
    const problem = checkBlock(u8, i32, ptr, this.#apiByte, this.#sst);
    if (problem !== BLOCK_OK) {
      this.#corrupt(problem, "debugRawRealloc", ptr);
      return 0;
    }
    if (size > this.#maxRequest) return 0;
    const sst = this.#sst;
    const head = ptr - this.#headerBytes;
    if (this.#preflight) this.#requireKnownPage(head);
    const extra = this.extraBytes;
    const old = readSize(u8, head, sst);
    const oldTail = ptr + old;
    const save = this.#save;
    const saveWords = this.#saveWords;
    // save what the erasing below destroys, and mark the block dead while the wrapped realloc
    // copies it (so that the old place reads 0xDD if the block moves); a word copy of a block of
    // up to 2 * ERASED_SIZE bytes may read 3 bytes past its data, which are trailer bytes
    if (this.serialNumbers) for (let i = 0; i < sst; i++) save[SAVED_SERIAL + i] = u8[oldTail + sst + i]!;
    const shared = this.#shared;
    if (old <= 2 * ERASED_SIZE) {
      copyOut(u8, i32, ptr, old, save, saveWords, 0);
      fillBytes(u8, i32, shared, head, head + old + extra, DEADBYTE);
    } else {
      copyOut(u8, i32, ptr, ERASED_SIZE, save, saveWords, 0);
      fillBytes(u8, i32, shared, head, ptr + ERASED_SIZE, DEADBYTE);
      copyOut(u8, i32, oldTail - ERASED_SIZE, ERASED_SIZE, save, saveWords, ERASED_SIZE);
      fillBytes(u8, i32, shared, oldTail - ERASED_SIZE, oldTail + extra - this.#headerBytes, DEADBYTE);
    }

    const moved = this.wrapped.realloc(head, size + extra);
    u8 = this.memory.u8; // the memory may have grown
    i32 = this.memory.i32;
    const n = moved === 0 ? old : size;
    const newHead = moved === 0 ? head : moved;
    const p = newHead + this.#headerBytes;
    writeHeader(u8, i32, newHead, n, this.#apiByte, sst);
    writeTrailer(u8, i32, p + n, sst);
    if (this.serialNumbers) {
      if (moved === 0) for (let i = 0; i < sst; i++) u8[p + n + sst + i] = save[SAVED_SERIAL + i]!;
      else writeField(u8, p + n + sst, nextSerial(this.memory, this.#counterWord), sst);
    }
    if (old <= 2 * ERASED_SIZE) {
      copyIn(u8, i32, p, Math.min(n, old), save, saveWords, 0);
    } else {
      copyIn(u8, i32, p, Math.min(n, ERASED_SIZE), save, saveWords, 0);
      const lastStart = old - ERASED_SIZE;
      if (n > lastStart) copyIn(u8, i32, p + lastStart, Math.min(n - lastStart, ERASED_SIZE), save, saveWords, ERASED_SIZE);
    }
    if (moved === 0) return 0;
    if (n > old) fillBytes(u8, i32, shared, p + old, p + n, CLEANBYTE);
    if (this.#traces.size !== 0) this.#traces.delete(ptr);
    if (this.tracebacks !== 0) this.#traces.set(p, captureStack(this.tracebacks, DebugAllocator.prototype.realloc));
    return p;
  }

  /**
   * Frees the block at `ptr` after checking it: fills the whole block (header and trailer
   * included) with 0xDD and hands it back to the wrapped allocator. 0 is a no-op.
   *
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_POINTER` when `ptr` is not an integer
   *   address or its header would lie outside the memory; {@link DebugCorruptionError}
   *   `ERR_TSMALLOC_CORRUPTION` (per `onCorruption`, function `debugRawFree`) when the block
   *   fails a check (a double free, a write after free, a block of another API, an overflow or
   *   underflow), `ERR_TSMALLOC_WRONG_THREAD` as {@link DebugAllocator.malloc}; whatever the
   *   wrapped allocator throws for a block it does not know (checked before anything changes,
   *   when it has `usableSize`). Nothing changes when it throws.
   */
  free(ptr: number): void {
    if (this.#foreign) {
      this.#wrongThread("debugFree");
      return;
    }
    if (ptr === 0) return;
    if (typeof ptr !== "number" || (ptr >>> 0) !== ptr) requireAddress(ptr, "free");
    const u8 = this.memory.u8;
    const i32 = this.memory.i32;
    if (ptr < this.#headerBytes || ptr > u8.length) throw pointerError("free", ptr, u8.length, this.#headerBytes);
    const problem = checkBlock(u8, i32, ptr, this.#apiByte, this.#sst);
    if (problem !== BLOCK_OK) {
      this.#corrupt(problem, "debugRawFree", ptr);
      return;
    }
    const head = ptr - this.#headerBytes;
    if (this.#preflight) this.#requireKnownPage(head);
    fillBytes(u8, i32, this.#shared, head, ptr + readSize(u8, head, this.#sst) + this.extraBytes - this.#headerBytes, DEADBYTE);
    if (this.#traces.size !== 0) this.#traces.delete(ptr);
    this.wrapped.free(head);
  }

  /**
   * The size the block at `ptr` was requested with (CPython's debug hooks have no other notion of
   * usable size: every byte past it is a pad byte), after checking the block.
   *
   * @returns the requested size; 0 after a failed check that a handler let pass
   * @throws as {@link DebugAllocator.free}, with function `debugUsableSize` in the report
   */
  usableSize(ptr: number): number {
    if (typeof ptr !== "number" || (ptr >>> 0) !== ptr) requireAddress(ptr, "usableSize");
    const u8 = this.memory.u8;
    if (ptr < this.#headerBytes || ptr > u8.length) throw pointerError("usableSize", ptr, u8.length, this.#headerBytes);
    const problem = checkBlock(u8, this.memory.i32, ptr, this.#apiByte, this.#sst);
    if (problem !== BLOCK_OK) {
      this.#corrupt(problem, "debugUsableSize", ptr);
      return 0;
    }
    return readSize(u8, ptr - this.#headerBytes, this.#sst);
  }

  /**
   * True when `ptr` lies in memory the wrapped allocator manages (its `owns`). Never throws.
   *
   * @returns false for anything else, and always when the wrapped allocator has no `owns`
   */
  owns(ptr: number): boolean {
    const owns = this.wrapped.owns;
    return typeof owns === "function" && owns.call(this.wrapped, ptr);
  }

  /**
   * The wrapped allocator's heap check. The hooks add no walk of their own (blocks are checked
   * when they are freed or resized).
   *
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` when the wrapped allocator has no
   *   `check()`
   */
  check(): HeapCheck {
    const check = this.wrapped.check;
    if (typeof check !== "function") throw optionError("check", `the wrapped allocator "${this.wrapped.name}" has no check()`, check);
    return check.call(this.wrapped);
  }

  /**
   * The wrapped allocator's statistics, as it counts: every hooked block is one block of
   * `size + extraBytes` bytes there (so `allocatedBytes` includes the hooks' 24 or 32 bytes per
   * block and the wrapped allocator's rounding), and the hooks' state block is one more block.
   *
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` when the wrapped allocator has no
   *   `stats()`
   */
  stats(): AllocatorStats {
    const stats = this.wrapped.stats;
    if (typeof stats !== "function") throw optionError("stats", `the wrapped allocator "${this.wrapped.name}" has no stats()`, stats);
    return stats.call(this.wrapped);
  }

  /**
   * The report text of the block at `ptr` without the fatal-error line: the dump as CPython's
   * `_PyObject_DebugDumpAddress` prints it, then the traceback part. For looking at a block;
   * it checks nothing and changes nothing, and reads nothing outside the memory.
   *
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_POINTER` when `ptr` is not an integer
   *   address or its header would lie outside the memory
   */
  dump(ptr: number): string {
    requireAddress(ptr, "dump");
    const u8 = this.memory.u8;
    if (ptr < this.#headerBytes || ptr > u8.length) throw pointerError("dump", ptr, u8.length, this.#headerBytes);
    return dumpBlockText(u8, ptr, this.serialNumbers, this.#sst) + this.#tracebackPart(ptr);
  }

  /**
   * Where the block at `ptr` was allocated (most recent call first), as remembered when
   * tracebacks are on (tracemalloc's `get_object_traceback`).
   *
   * @returns the frames; null when tracebacks are off or these hooks did not allocate a block at
   *   `ptr` (never, already freed, or in another thread); never throws
   */
  allocationTraceback(ptr: number): TracebackFrame[] | null {
    const captured = this.tracebacks === 0 ? undefined : this.#traces.get(ptr);
    return captured === undefined ? null : stackFrames(captured, this.tracebacks);
  }

  /**
   * CPython's `_PyObject_IsFreed` on this memory: see {@link isFreed}.
   *
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_POINTER` when `ptr` is not an integer in
   *   [0, 2^32)
   */
  isFreed(ptr: number): boolean {
    requireAddress(ptr, "isFreed");
    return isObjectFreed(this.memory.u8, ptr, this.#sst);
  }

  /** Makes a block of `n` data bytes (n is a valid size). */
  #allocate(n: number, zeroed: boolean, caller: unknown): number {
    if (n > this.#maxRequest) return 0;
    const head = zeroed ? this.wrapped.calloc(1, n + this.extraBytes) : this.wrapped.malloc(n + this.extraBytes);
    if (head === 0) return 0;
    const u8 = this.memory.u8; // the memory may have grown
    const i32 = this.memory.i32;
    const sst = this.#sst;
    const p = head + this.#headerBytes;
    writeHeader(u8, i32, head, n, this.#apiByte, sst);
    if (!zeroed) fillBytes(u8, i32, this.#shared, p, p + n, CLEANBYTE);
    writeTrailer(u8, i32, p + n, sst);
    if (this.serialNumbers) writeField(u8, p + n + sst, nextSerial(this.memory, this.#counterWord), sst);
    if (this.tracebacks !== 0) this.#traces.set(p, captureStack(this.tracebacks, caller));
    return p;
  }

  /**
   * The hot paths' part of #requireKnown: one word compare when the wrapped allocator already
   * vouched for `head`'s page in the memory's current generation.
   */
  #requireKnownPage(head: number): void {
    const generation = this.memory.generation;
    if (this.#vouched[head >>> 16] !== generation || generation === 0) this.#requireKnown(head, generation);
  }

  /**
   * Makes sure the wrapped allocator knows the block at `head` before free or realloc writes
   * anything, so that a block whose header passes the check but which belongs to another heap is
   * refused by the wrapped allocator with the memory unchanged. The header check (CPython's
   * `_PyMem_DebugCheckAddress`) is what proves the block; this only settles which heap it is in,
   * and that is a property of its page: regions are whole 64 KiB pages, each mapped for one heap,
   * and the memory's generation changes whenever any region is mapped, unmapped or resized. So the
   * wrapped allocator is asked (its usableSize, which throws for a block it does not know) once
   * per page and generation, and the answer is remembered in #vouched; the hot paths compare one
   * word. An allocator whose usableSize cannot size this block (`ERR_TSMALLOC_INVALID_OPTION`:
   * pymalloc whose raw allocator has no usableSize, for a large block) goes on as without the
   * capability.
   */
  #requireKnown(head: number, generation: number): void {
    try {
      this.wrapped.usableSize!(head);
    } catch (error) {
      if (!isTsmallocError(error, ErrorCode.InvalidOption)) throw error;
    }
    if (generation === 0) return; // the generation wrapped: 0 is "never" in the table
    const page = head >>> 16;
    if (page >= this.#vouched.length) {
      const grown = new Uint32Array(Math.max(page + 1, this.memory.byteLength >>> 16));
      grown.set(this.#vouched);
      this.#vouched = grown;
    }
    this.#vouched[page] = generation;
  }

  /**
   * The report's traceback part: the hooks' own traceback of the block when their `tracebacks`
   * option is on, else what a registered tracer (tracemalloc) says about it; the advice to
   * enable tracemalloc when neither traces.
   */
  #tracebackPart(p: number): string {
    if (this.tracebacks !== 0) {
      const captured = this.#traces.get(p);
      if (captured !== undefined) return tracebackText(stackFrames(captured, this.tracebacks));
    }
    const traced = providedTraceback(this.memory.source, p, this.#headerBytes);
    if (traced !== null && traced !== undefined) return tracebackText(traced);
    return tracebackText(this.tracebacks !== 0 || traced === undefined ? undefined : null);
  }

  /** Reports a block that failed a check (the slow path: it may allocate). */
  #corrupt(problem: number, func: string, p: number): void {
    const u8 = this.memory.u8;
    const found = formatApiByte(u8[p - this.#sst]!);
    const message = problem === BAD_ID ? `bad ID: Allocated using API '${found}', verified using API '${this.api}'` : problemMessage(problem);
    const report = `${dumpBlockText(u8, p, this.serialNumbers, this.#sst)}${this.#tracebackPart(p)}Fatal tsmalloc error: ${func}: ${message}\n`;
    this.#raise(new DebugCorruptionError(ErrorCode.Corruption, func, message, report, p, found));
  }

  #wrongThread(func: string): number {
    const report = `Fatal tsmalloc error: ${func}: ${WRONG_THREAD}\n`;
    this.#raise(new DebugCorruptionError(ErrorCode.WrongThread, func, WRONG_THREAD, report, 0, this.api));
    return 0;
  }

  #raise(error: DebugCorruptionError): void {
    const how = this.#onCorruption;
    if (typeof how === "function") {
      how(error);
      return;
    }
    if (how === "abort") {
      const process = (globalThis as { process?: ProcessLike }).process;
      if (process !== undefined && typeof process.exit === "function") {
        process.stderr?.write(error.report);
        process.exit(ABORT_STATUS);
      }
    }
    throw error;
  }
}

/**
 * Wraps `allocator` in CPython's debug hooks for one API (`options.api`: `"r"` RAW, the default,
 * `"m"` MEM or `"o"` OBJ): guard bytes around every block, 0xCD / 0xDD poisoning, the API id
 * check, and CPython's report when a check fails. See {@link DebugAllocator}.
 *
 * @returns the hooked allocator, an {@link Allocator} named `<allocator.name>_debug`
 * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` when `allocator` is not an
 *   Allocator over a LinearMemory or an option is invalid; `ERR_TSMALLOC_OUT_OF_MEMORY` when the
 *   allocator cannot provide the hooks' 32-byte state block
 */
export function withDebugHooks(allocator: Allocator, options: DebugHookOptions = {}): DebugAllocator {
  return new DebugAllocator(allocator, options);
}

/**
 * True when `value` is an allocator wrapped in debug hooks (of this copy of the package), so
 * that a registry can skip domains that are hooked already, as `PyMem_SetupDebugHooks` does.
 * Never throws.
 */
export function isDebugAllocator(value: unknown): value is DebugAllocator {
  return value instanceof DebugAllocator;
}
