import { type Allocator, LinearMemory } from "@tsmalloc/memory";
import { type ApiId, isApiId } from "./constants.ts";
import { type DebugLayout, type DebugLayoutName, resolveDebugLayout } from "./debug-layout.ts";
import { type OnCorruption, optionError } from "./errors.ts";
import { isSerialCounterChoice, type SerialCounterChoice } from "./serial-counter.ts";

/** The most stack frames an allocation may remember. */
export const MAX_TRACEBACK_FRAMES = 100;

/**
 * The options of the hooks that each thread chooses for itself: they also apply to
 * {@link DebugAllocator.attach}.
 */
export interface DebugThreadOptions {
  /**
   * How many JavaScript stack frames each block remembers of the call that allocated it, for the
   * report's `Memory block allocated at` part (tracemalloc's `-X tracemalloc=N`); 0 turns
   * tracebacks off, and the report then says `Enable tracemalloc to get the memory block
   * allocation traceback`. Capturing a stack costs a few microseconds per allocation; off, the
   * hooks pay one test of a field. An integer from 0 to 100.
   * @defaultValue 0
   */
  readonly tracebacks?: number;
  /**
   * What happens after a failed check: `"throw"` a {@link DebugCorruptionError}; `"abort"`, write
   * the report to stderr and end the process with status 134 (CPython's abort; where there is no
   * `process`, it throws instead); or a function that receives the error, after which the failed
   * call does nothing (free leaves the block alone, realloc returns 0).
   * @defaultValue "throw"
   */
  readonly onCorruption?: OnCorruption;
  /**
   * For MEM (`"m"`) and OBJ (`"o"`) hooks: refuse calls from any thread but the one that made the
   * hooks (CPython's GIL check). Ignored for RAW (`"r"`), which is never checked.
   * @defaultValue true
   */
  readonly checkThread?: boolean;
}

/** The options of {@link withDebugHooks}. */
export interface DebugHookOptions extends DebugThreadOptions {
  /**
   * The API id written into every block and checked on free and realloc: `"r"` (RAW), `"m"`
   * (MEM) or `"o"` (OBJ). A block freed through hooks of another id is reported as bad ID.
   * @defaultValue "r"
   */
  readonly api?: ApiId;
  /**
   * Give every block a serial number, 8 big-endian bytes after the trailing pad (CPython's
   * `PYMEM_DEBUG_SERIALNO`, off by default since 3.8): the report then says which call made the
   * block. The counter lives in the memory, so hooks attached in other workers share it.
   * @defaultValue false
   */
  readonly serialNumbers?: boolean;
  /**
   * Which counter the serial numbers come from, when `serialNumbers` is on. CPython has one
   * counter (`serialno`), so that "call #N" names one call: `"memory"` is the memory's one counter,
   * shared by every hooks in the memory that use it (the first such hooks keep it in their state
   * block and record it in the memory's root table); `"new"` starts a counter in these hooks' state
   * block; an address ({@link DebugAllocator.serialCounter} of other hooks) draws from theirs. A
   * registry runtime gives its hooks one counter of their own this way.
   * @defaultValue "memory"
   */
  readonly serialCounter?: SerialCounterChoice;
  /**
   * The block layout, by the platform CPython runs on: `"64-bit"` (SST, the size of a `size_t`,
   * is 8: 24 extra bytes a block, 32 with serial numbers) or `"wasm32"` (SST 4, as on 32-bit
   * platforms such as WebAssembly: 12 and 16). See `DebugLayouts`.
   * @defaultValue "64-bit"
   */
  readonly layout?: DebugLayoutName;
}

/** The thread options, checked and with their defaults. @internal */
export interface ThreadSettings {
  readonly tracebacks: number;
  readonly onCorruption: OnCorruption;
  readonly checkThread: boolean;
}

/** True for a LinearMemory of this realm. @internal */
export function isLinearMemory(value: unknown): value is LinearMemory {
  return value instanceof LinearMemory;
}

/**
 * Checks that `value` can be wrapped: an object with the four calls of an {@link Allocator} and
 * a LinearMemory.
 * @internal
 */
export function requireAllocator(value: unknown, fn: string): Allocator {
  const a = value as Partial<Allocator> | null;
  if (
    typeof a !== "object" ||
    a === null ||
    typeof a.malloc !== "function" ||
    typeof a.calloc !== "function" ||
    typeof a.realloc !== "function" ||
    typeof a.free !== "function" ||
    typeof a.name !== "string" ||
    !isLinearMemory(a.memory)
  ) {
    throw optionError(fn, "the allocator must be an Allocator (name, memory, malloc, calloc, realloc, free)", value);
  }
  return a as Allocator;
}

/** Checks the options every thread chooses. @internal */
export function threadSettings(options: DebugThreadOptions, fn: string): ThreadSettings {
  if (typeof options !== "object" || options === null) throw optionError(fn, "options must be an object", options);
  const { tracebacks = 0, onCorruption = "throw", checkThread = true } = options;
  if (!(typeof tracebacks === "number" && Number.isInteger(tracebacks) && tracebacks >= 0 && tracebacks <= MAX_TRACEBACK_FRAMES)) {
    throw optionError(fn, `tracebacks must be an integer from 0 to ${MAX_TRACEBACK_FRAMES}`, tracebacks);
  }
  if (onCorruption !== "throw" && onCorruption !== "abort" && typeof onCorruption !== "function") {
    throw optionError(fn, `onCorruption must be "throw", "abort" or a function`, onCorruption);
  }
  if (typeof checkThread !== "boolean") throw optionError(fn, "checkThread must be a boolean", checkThread);
  return { tracebacks, onCorruption, checkThread };
}

/** Checks the options of withDebugHooks. @internal */
export function hookSettings(
  options: DebugHookOptions,
  fn: string,
): ThreadSettings & { readonly api: ApiId; readonly serialNumbers: boolean; readonly serialCounter: SerialCounterChoice; readonly layout: DebugLayout } {
  const settings = threadSettings(options, fn);
  const { api = "r", serialNumbers = false, serialCounter = "memory" } = options;
  const layout = resolveDebugLayout(options.layout, fn);
  if (!isApiId(api)) throw optionError(fn, `api must be "r", "m" or "o"`, api);
  if (typeof serialNumbers !== "boolean") throw optionError(fn, "serialNumbers must be a boolean", serialNumbers);
  if (!isSerialCounterChoice(serialCounter)) {
    throw optionError(fn, `serialCounter must be "memory", "new" or the address of another hooks' counter (a non-zero multiple of 4)`, serialCounter);
  }
  return { ...settings, api, serialNumbers, serialCounter, layout };
}

/**
 * Checks options for {@link withDebugHooks} without making hooks (so a caller that builds several
 * allocators can reject bad options before it allocates anything).
 *
 * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` for an option withDebugHooks would refuse
 */
export function checkDebugHookOptions(options: DebugHookOptions): void {
  hookSettings(options, "withDebugHooks");
}
