import { DebugCorruptionError } from "@tsmalloc/debug";
import { type Allocator, type ErrorCode, type LinearMemory, TsmallocError } from "@tsmalloc/memory";
import { ALLOCATOR_CONFIGS, type AllocatorConfig, type AllocatorName, Domain, type Runtime } from "@tsmalloc/registry";
import { expect } from "vitest";

/** Every configuration name, in CPython's table order. */
export const CONFIGS: readonly AllocatorConfig[] = ALLOCATOR_CONFIGS;

/** The configurations with debug hooks on all three domains. */
export const DEBUG_CONFIGS: ReadonlySet<AllocatorConfig> = new Set(["debug", "malloc_debug", "pymalloc_debug"]);

/** What allocatorName() must answer for each configuration. */
export const NAME_OF: Readonly<Record<AllocatorConfig, AllocatorName>> = {
  default: "pymalloc",
  debug: "pymalloc_debug",
  malloc: "malloc",
  malloc_debug: "malloc_debug",
  pymalloc: "pymalloc",
  pymalloc_debug: "pymalloc_debug",
};

/** The four entry points of one domain, with their names. */
export interface EntryPoints {
  readonly names: { readonly malloc: string; readonly calloc: string; readonly realloc: string; readonly free: string };
  malloc(size: number): number;
  calloc(nelem: number, elsize: number): number;
  realloc(ptr: number, size: number): number;
  free(ptr: number): void;
}

export function entryPoints(runtime: Runtime, domain: Domain): EntryPoints {
  switch (domain) {
    case Domain.RAW:
      return {
        names: { malloc: "rawMalloc", calloc: "rawCalloc", realloc: "rawRealloc", free: "rawFree" },
        malloc: (n) => runtime.rawMalloc(n),
        calloc: (n, e) => runtime.rawCalloc(n, e),
        realloc: (p, n) => runtime.rawRealloc(p, n),
        free: (p) => runtime.rawFree(p),
      };
    case Domain.MEM:
      return {
        names: { malloc: "memMalloc", calloc: "memCalloc", realloc: "memRealloc", free: "memFree" },
        malloc: (n) => runtime.memMalloc(n),
        calloc: (n, e) => runtime.memCalloc(n, e),
        realloc: (p, n) => runtime.memRealloc(p, n),
        free: (p) => runtime.memFree(p),
      };
    default:
      return {
        names: { malloc: "objMalloc", calloc: "objCalloc", realloc: "objRealloc", free: "objFree" },
        malloc: (n) => runtime.objMalloc(n),
        calloc: (n, e) => runtime.objCalloc(n, e),
        realloc: (p, n) => runtime.objRealloc(p, n),
        free: (p) => runtime.objFree(p),
      };
  }
}

/** Runs `fn` and returns what it throws; fails when it throws nothing. */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected an error, but nothing was thrown");
}

/** Expects `fn` to throw a TsmallocError with `code` (not a corruption report); returns it. */
export function expectError(fn: () => unknown, code: ErrorCode): TsmallocError {
  const error = thrown(fn);
  if (!(error instanceof TsmallocError)) throw new Error(`expected a TsmallocError, got ${String(error)}`);
  expect(error.code, error.message).toBe(code);
  return error;
}

/** Expects `fn` to throw the debug hooks' report; returns it. */
export function corruption(fn: () => unknown): DebugCorruptionError {
  const error = thrown(fn);
  if (!(error instanceof DebugCorruptionError)) throw new Error(`expected a DebugCorruptionError, got ${String(error)}`);
  return error;
}

/** Expects the runtime's own heaps to pass their checks. */
export function expectRuntimeOk(runtime: Runtime): void {
  const result = runtime.check();
  expect(result.problems).toEqual([]);
  expect(result.ok).toBe(true);
}

/** Fills `n` bytes at `p` with `byte`. */
export function fill(memory: LinearMemory, p: number, n: number, byte: number): void {
  memory.u8.fill(byte, p, p + n);
}

/** Expects `n` bytes at `p` to be `byte`. */
export function expectFilled(memory: LinearMemory, p: number, n: number, byte: number): void {
  const u8 = memory.u8;
  for (let i = 0; i < n; i++) {
    if (u8[p + i] !== byte) expect(`0x${p.toString(16)}+${i}: ${u8[p + i]}`).toBe(`0x${p.toString(16)}+${i}: ${byte}`);
  }
}

/** A copy of every byte of the memory, to show that a rejected call changed nothing. */
export function snapshot(memory: LinearMemory): Uint8Array {
  return memory.u8.slice();
}

/** Expects the memory to hold exactly the bytes of `before`. */
export function expectUnchanged(memory: LinearMemory, before: Uint8Array): void {
  const now = memory.u8;
  expect(now.length).toBe(before.length);
  let first = -1;
  for (let i = 0; i < before.length; i++) {
    if (now[i] !== before[i]) {
      first = i;
      break;
    }
  }
  expect(first < 0 ? "unchanged" : `changed at 0x${first.toString(16)}`).toBe("unchanged");
}

/** One call a recording hook saw. */
export type HookCall =
  | { readonly op: "malloc"; readonly size: number; readonly result: number }
  | { readonly op: "calloc"; readonly nelem: number; readonly elsize: number; readonly result: number }
  | { readonly op: "realloc"; readonly ptr: number; readonly size: number; readonly result: number }
  | { readonly op: "free"; readonly ptr: number };

/**
 * A hook in the manner of CPython's test_setallocators: it records every call with its exact
 * arguments and what it returned, and chains to the allocator it wraps.
 */
export class RecordingHook implements Allocator {
  readonly name: string = "recording";
  readonly memory: LinearMemory;
  readonly calls: HookCall[] = [];
  readonly wrapped: Allocator;

  constructor(wrapped: Allocator) {
    this.wrapped = wrapped;
    this.memory = wrapped.memory;
  }

  malloc(size: number): number {
    const result = this.wrapped.malloc(size);
    this.calls.push({ op: "malloc", size, result });
    return result;
  }

  calloc(nelem: number, elsize: number): number {
    const result = this.wrapped.calloc(nelem, elsize);
    this.calls.push({ op: "calloc", nelem, elsize, result });
    return result;
  }

  realloc(ptr: number, size: number): number {
    const result = this.wrapped.realloc(ptr, size);
    this.calls.push({ op: "realloc", ptr, size, result });
    return result;
  }

  free(ptr: number): void {
    this.calls.push({ op: "free", ptr });
    this.wrapped.free(ptr);
  }
}

/**
 * A {@link RecordingHook} that also passes `usableSize` through to the allocator it wraps (which
 * must have one); the size queries are not recorded.
 */
export class SizingRecordingHook extends RecordingHook {
  usableSize(ptr: number): number {
    const below = this.wrapped;
    if (typeof below.usableSize !== "function") throw new Error(`the wrapped allocator "${below.name}" has no usableSize()`);
    return below.usableSize(ptr);
  }
}
