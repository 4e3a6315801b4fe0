/*
 * What instantiate() returns: the module's instance with the runtime whose heap it runs on.
 */
import { ErrorCode, type LinearMemory, TsmallocError } from "@tsmalloc/memory";
import type { Domain, Runtime } from "@tsmalloc/registry";
import type { WasiHost } from "./wasi-options.ts";
import type { WasmExports, WasmInstance, WasmMemory } from "./webassembly.ts";

/** The parts {@link TsmallocInstance} is made of. @internal */
export interface TsmallocInstanceParts {
  readonly instance: WasmInstance;
  readonly runtime: Runtime;
  readonly wasmMemory: WasmMemory;
  readonly heapBase: number;
  readonly domain: Domain;
  readonly host: WasiHost | null;
  /** True when instantiate made the runtime: it is closed when the program ends. */
  readonly ownsRuntime: boolean;
}

/**
 * A module instantiated by `instantiate()` on a tsmalloc heap. The program's blocks are the
 * runtime's: `runtime.debugMallocStats()`, `runtime.check()`, the domains' `stats()` and the
 * debug hooks see them, during the run (from an import the program calls) and after it.
 */
export class TsmallocInstance {
  /** The `WebAssembly.Instance`. */
  readonly instance: WasmInstance;
  /** Its exports (`_start`, `__heap_base`, and whatever else the module exports). */
  readonly exports: WasmExports;
  /** The runtime whose domains serve the module's allocations. */
  readonly runtime: Runtime;
  /** The runtime's memory: tsmalloc's view of the module's memory. */
  readonly memory: LinearMemory;
  /** The module's memory, a `WebAssembly.Memory`. */
  readonly wasmMemory: WasmMemory;
  /** The module's `__heap_base`: the end of its data and stack, at or below `memory.base`. */
  readonly heapBase: number;
  /** The domain of the C library's `malloc` family. */
  readonly domain: Domain;
  /** The WASI the program runs under: `"node"`, `"minimal"`, or null for none. */
  readonly wasi: "node" | "minimal" | null;
  readonly #host: WasiHost | null;
  readonly #ownsRuntime: boolean;
  #started = false;

  /** Use `instantiate()`. @internal */
  constructor(parts: TsmallocInstanceParts) {
    this.instance = parts.instance;
    this.exports = parts.instance.exports;
    this.runtime = parts.runtime;
    this.memory = parts.runtime.memory;
    this.wasmMemory = parts.wasmMemory;
    this.heapBase = parts.heapBase;
    this.domain = parts.domain;
    this.#host = parts.host;
    this.#ownsRuntime = parts.ownsRuntime;
    this.wasi = parts.host?.kind ?? null;
  }

  /**
   * Runs the program (its `_start` export, a WASI command's `main`), once. When it ends, however
   * it ends, a runtime that `instantiate` made is closed, as a process's end closes CPython's: with
   * statistics on (`TSMALLOCSTATS`) its last table is printed. The heap stays as the program left
   * it, for `runtime.debugMallocStats()`, `check()` and the rest.
   *
   * @returns the exit status: 0 when `main` returned 0, else what `main` returned or `exit()` was given
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` when the module has no `_start`
   *   (a reactor: call {@link TsmallocInstance.initialize}) or was started before; whatever stops
   *   the program: a `TsmallocError` from the allocator (a free of a pointer that is not a live
   *   block, the debug hooks' report of a corrupted block, with CPython's text), or a
   *   `WebAssembly.RuntimeError` (a trap: `abort()`, an out-of-bounds access)
   */
  start(): number {
    const start = this.#entry("_start", "start", "it is not a command (a reactor exports _initialize: call initialize())");
    try {
      if (this.#host === null) {
        start();
        return 0;
      }
      return this.#host.start(this.exports, this.wasmMemory);
    } finally {
      if (this.#ownsRuntime) this.runtime.close();
    }
  }

  /**
   * Initialises a WASI reactor (its `_initialize` export: static constructors), once; then call
   * its exports.
   * @throws {@link TsmallocError} as {@link TsmallocInstance.start}, for `_initialize`
   */
  initialize(): void {
    const initialize = this.#entry("_initialize", "initialize", "it is not a reactor (a command exports _start: call start())");
    if (this.#host === null) initialize();
    else this.#host.initialize(this.exports, this.wasmMemory);
  }

  #entry(name: string, fn: string, why: string): () => void {
    const entry = this.exports[name];
    if (typeof entry !== "function") throw new TsmallocError(ErrorCode.InvalidOption, `TsmallocInstance.${fn}: the module has no ${name} export: ${why}`);
    if (this.#started) throw new TsmallocError(ErrorCode.InvalidOption, `TsmallocInstance.${fn}: the program was started already`);
    this.#started = true;
    return entry as () => void;
  }
}
