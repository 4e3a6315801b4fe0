import type { Allocator } from "@tsmalloc/memory";
import type { ArenaAllocator } from "@tsmalloc/pymalloc";
import type { AllocatorName } from "./config-name.ts";
import type { Domain } from "./domain.ts";
import { createRuntimeFromEnv } from "./environment.ts";
import { Runtime } from "./runtime.ts";

/*
 * The default runtime: what the package's functions (memMalloc, getAllocator, ...) use. It is
 * created from the environment (TSMALLOC, TSMALLOCSTATS) the first time one of them is called,
 * over a new growable WebAssembly.Memory, and closed when the process exits (which prints the
 * statistics when TSMALLOCSTATS asks for them).
 */

let current: Runtime | undefined;

interface ProcessLike {
  once?(event: "exit", listener: () => void): unknown;
}

function closeAtExit(runtime: Runtime): void {
  const process = (globalThis as { process?: ProcessLike }).process;
  if (runtime.printsStats && typeof process?.once === "function") process.once("exit", () => runtime.close());
}

/**
 * The runtime the package's functions use, created from the environment on first use (see
 * {@link createRuntimeFromEnv}); with `TSMALLOCSTATS` set it is closed, printing the statistics,
 * when the process exits.
 *
 * @throws {@link TsmallocError} `ERR_TSMALLOC_UNKNOWN_ALLOCATOR` when `TSMALLOC` is unknown (and
 *   again on every call until it is fixed or {@link setDefaultRuntime} is called)
 */
export function defaultRuntime(): Runtime {
  if (current === undefined) {
    const runtime = createRuntimeFromEnv();
    closeAtExit(runtime);
    current = runtime;
  }
  return current;
}

/**
 * Makes `runtime` the one the package's functions use (for example a runtime over your own
 * `WebAssembly.Memory`).
 *
 * @returns the runtime used until now, or undefined when none was created yet
 * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` unless `runtime` is a Runtime
 */
export function setDefaultRuntime(runtime: Runtime): Runtime | undefined {
  if (!(runtime instanceof Runtime)) throw Runtime.notARuntime("setDefaultRuntime", runtime);
  const previous = current;
  current = runtime;
  return previous;
}

/** `PyMem_RawMalloc` on the default runtime: see {@link Runtime.rawMalloc}. */
export function rawMalloc(size: number): number {
  return (current ?? defaultRuntime()).rawMalloc(size);
}
/** `PyMem_RawCalloc` on the default runtime: see {@link Runtime.rawCalloc}. */
export function rawCalloc(nelem: number, elsize: number): number {
  return (current ?? defaultRuntime()).rawCalloc(nelem, elsize);
}
/** `PyMem_RawRealloc` on the default runtime: see {@link Runtime.rawRealloc}. */
export function rawRealloc(ptr: number, size: number): number {
  return (current ?? defaultRuntime()).rawRealloc(ptr, size);
}
/** `PyMem_RawFree` on the default runtime: see {@link Runtime.rawFree}. */
export function rawFree(ptr: number): void {
  (current ?? defaultRuntime()).rawFree(ptr);
}
/** `PyMem_Malloc` on the default runtime: see {@link Runtime.memMalloc}. */
export function memMalloc(size: number): number {
  return (current ?? defaultRuntime()).memMalloc(size);
}
/** `PyMem_Calloc` on the default runtime: see {@link Runtime.memCalloc}. */
export function memCalloc(nelem: number, elsize: number): number {
  return (current ?? defaultRuntime()).memCalloc(nelem, elsize);
}
/** `PyMem_Realloc` on the default runtime: see {@link Runtime.memRealloc}. */
export function memRealloc(ptr: number, size: number): number {
  return (current ?? defaultRuntime()).memRealloc(ptr, size);
}
/** `PyMem_Free` on the default runtime: see {@link Runtime.memFree}. */
export function memFree(ptr: number): void {
  (current ?? defaultRuntime()).memFree(ptr);
}
/** `PyObject_Malloc` on the default runtime: see {@link Runtime.objMalloc}. */
export function objMalloc(size: number): number {
  return (current ?? defaultRuntime()).objMalloc(size);
}
/** `PyObject_Calloc` on the default runtime: see {@link Runtime.objCalloc}. */
export function objCalloc(nelem: number, elsize: number): number {
  return (current ?? defaultRuntime()).objCalloc(nelem, elsize);
}
/** `PyObject_Realloc` on the default runtime: see {@link Runtime.objRealloc}. */
export function objRealloc(ptr: number, size: number): number {
  return (current ?? defaultRuntime()).objRealloc(ptr, size);
}
/** `PyObject_Free` on the default runtime: see {@link Runtime.objFree}. */
export function objFree(ptr: number): void {
  (current ?? defaultRuntime()).objFree(ptr);
}
/** `PyMem_GetAllocator` on the default runtime: see {@link Runtime.getAllocator}. */
export function getAllocator(domain: Domain): Allocator {
  return defaultRuntime().getAllocator(domain);
}
/** `PyMem_SetAllocator` on the default runtime: see {@link Runtime.setAllocator}. */
export function setAllocator(domain: Domain, allocator: Allocator): void {
  defaultRuntime().setAllocator(domain, allocator);
}
/** `PyMem_SetupDebugHooks` on the default runtime: see {@link Runtime.setupDebugHooks}. */
export function setupDebugHooks(): void {
  defaultRuntime().setupDebugHooks();
}
/** `PyObject_GetArenaAllocator` on the default runtime: see {@link Runtime.getArenaAllocator}. */
export function getArenaAllocator(): ArenaAllocator {
  return defaultRuntime().getArenaAllocator();
}
/** `PyObject_SetArenaAllocator` on the default runtime: see {@link Runtime.setArenaAllocator}. */
export function setArenaAllocator(allocator: ArenaAllocator): void {
  defaultRuntime().setArenaAllocator(allocator);
}
/** `_PyMem_GetCurrentAllocatorName` on the default runtime: see {@link Runtime.allocatorName}. */
export function allocatorName(): AllocatorName | null {
  return defaultRuntime().allocatorName();
}
/** `sys._debugmallocstats()` on the default runtime: see {@link Runtime.debugMallocStats}. */
export function debugMallocStats(): string {
  return defaultRuntime().debugMallocStats();
}
/** `_testcapi.set_nomemory` on the default runtime: see {@link Runtime.setNoMemory}. */
export function setNoMemory(start: number, stop: number = 0): void {
  defaultRuntime().setNoMemory(start, stop);
}
/** `_testcapi.remove_mem_hooks` on the default runtime: see {@link Runtime.removeMemHooks}. */
export function removeMemHooks(): void {
  defaultRuntime().removeMemHooks();
}
