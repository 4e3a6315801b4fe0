/*
 * instantiate(): a module built with c/tsmalloc-shim.c, on a tsmalloc heap in its own memory.
 *
 * The memory is laid out before the module is instantiated. The module's imported memory
 * declares how many pages it needs at least: wasm-ld makes that its data and shadow stack, up to
 * __heap_base, rounded up to whole pages. tsmalloc's base goes right there, at the next page:
 *
 *     0            __heap_base   base = minimum pages × 64 KiB
 *     | data, stack |  (rounding) | header (region table) | heap segments, arenas ... grows → |
 *     '---- the module's (RegionOwner.Host) ---'------------- tsmalloc's region allocator --------'
 *
 * With the module's bytes the minimum is read from its import section; with a compiled
 * WebAssembly.Module, whose limits the JavaScript API does not tell, it is found by trial: the
 * module is linked against scratch memories of growing size, with every function import a stub
 * that throws, until one links. Either way, after instantiation `__heap_base` is checked to lie
 * at or below the base before anything runs.
 */
import { DEFAULT_MAX_PAGES, describeValue, ErrorCode, LinearMemory, MAX_PAGES, PAGE_SIZE, TsmallocError } from "@tsmalloc/memory";
import {
  Domain,
  isDomain,
  parseAllocatorConfig,
  processEnvironment,
  Runtime,
  createRuntime,
  type RuntimeOptions,
  TSMALLOC_ENV,
  TSMALLOCSTATS_ENV,
} from "@tsmalloc/registry";
import { ALLOCATOR_IMPORT_MODULE, ALLOCATOR_IMPORT_NAMES, allocatorImports } from "./allocator-imports.ts";
import { readMemoryImport } from "./memory-import.ts";
import { TsmallocInstance } from "./tsmalloc-instance.ts";
import { createWasiHost } from "./wasi-host.ts";
import { WASI_IMPORT_MODULE, type WasiHost, type WasiOptions } from "./wasi-options.ts";
import {
  isWasmMemory,
  isWasmModule,
  type WasmImportDescriptor,
  type WasmImports,
  type WasmMemory,
  type WasmModule,
  webAssembly,
  type WebAssemblyApi,
} from "./webassembly.ts";

/** Options of {@link instantiate}. */
export interface InstantiateOptions {
  /**
   * The runtime to serve the module: its memory must be a `LinearMemory` over a
   * `WebAssembly.Memory`, with its base at or above the pages the module needs for its data and
   * stack (`new LinearMemory({ wasmMemory, base })`). Leave it out to have one made.
   */
  readonly runtime?: Runtime;
  /**
   * The configuration of the runtime made for the module, by CPython's `PYTHONMALLOC` name
   * (`"default"`, `"debug"`, `"malloc"`, `"malloc_debug"`, `"pymalloc"`, `"pymalloc_debug"`).
   * Not with `runtime`.
   * @defaultValue `TSMALLOC` from the environment (unset: `"default"`), as the default runtime
   */
  readonly allocator?: string;
  /**
   * The other options of the runtime made for the module (`debug`, `malloc`, `pymalloc`, `stats`,
   * `statsOutput`). Not with `runtime`.
   * @defaultValue `stats` from `TSMALLOCSTATS` when `allocator` is not given either
   */
  readonly runtimeOptions?: Omit<RuntimeOptions, "memory" | "allocator">;
  /**
   * The domain of the C library's `malloc` family. `PyMem_*` and `PyObject_*` always use their own.
   * @defaultValue `Domain.MEM`
   */
  readonly domain?: Domain;
  /**
   * The module's other imports, by import module. They may not provide the memory,
   * `"tsmalloc"`, or (unless `wasi` is false) `"wasi_snapshot_preview1"`.
   */
  readonly imports?: WasmImports;
  /**
   * The WASI the program runs under, or false for none (the module then imports no WASI
   * function, or `imports` provides them).
   * @defaultValue `{}`: node:wasi in Node, the minimal WASI elsewhere, no arguments
   */
  readonly wasi?: WasiOptions | false;
  /**
   * The most bytes the memory may grow to (rounded down to pages), for a memory made here; the
   * module's own maximum, when it declares one, bounds it too.
   * @defaultValue 4 GiB - 16 MiB (`DEFAULT_MAX_PAGES` pages)
   */
  readonly maximum?: number;
}

const OPTION_KEYS: ReadonlySet<string> = new Set(["runtime", "allocator", "runtimeOptions", "domain", "imports", "wasi", "maximum"]);
const FN = "instantiate";

function optionError(message: string): TsmallocError {
  return new TsmallocError(ErrorCode.InvalidOption, `${FN}: ${message}`);
}

function incompatible(message: string, cause?: unknown): TsmallocError {
  return new TsmallocError(ErrorCode.Incompatible, `${FN}: ${message}`, cause === undefined ? undefined : { cause });
}

/** The bytes of a BufferSource, without copying; null for anything else. */
function bytesOf(source: unknown): Uint8Array | null {
  if (source instanceof Uint8Array) return source;
  if (ArrayBuffer.isView(source)) return new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  if (source instanceof ArrayBuffer || (typeof SharedArrayBuffer !== "undefined" && source instanceof SharedArrayBuffer)) return new Uint8Array(source);
  return null;
}

function checkOptions(options: InstantiateOptions): void {
  if (typeof options !== "object" || options === null) throw optionError(`options must be an object, got ${describeValue(options)}`);
  for (const key of Object.keys(options)) if (!OPTION_KEYS.has(key)) throw optionError(`unknown option ${JSON.stringify(key)}`);
  const { runtime, allocator, runtimeOptions, domain, imports, wasi, maximum } = options;
  if (runtime !== undefined) {
    if (!(runtime instanceof Runtime)) throw optionError(`runtime must be a Runtime (from createRuntime), got ${describeValue(runtime)}`);
    if (allocator !== undefined || runtimeOptions !== undefined || maximum !== undefined) {
      throw optionError("allocator, runtimeOptions and maximum are for the runtime instantiate makes; they cannot apply to a given runtime");
    }
  }
  if (allocator !== undefined && typeof allocator !== "string") throw optionError(`allocator must be a configuration name, got ${describeValue(allocator)}`);
  if (runtimeOptions !== undefined && (typeof runtimeOptions !== "object" || runtimeOptions === null)) {
    throw optionError(`runtimeOptions must be an object, got ${describeValue(runtimeOptions)}`);
  }
  if (runtimeOptions !== undefined && ("memory" in runtimeOptions || "allocator" in runtimeOptions)) {
    throw optionError("runtimeOptions.memory and runtimeOptions.allocator are instantiate's to choose (use the allocator option)");
  }
  if (domain !== undefined && !isDomain(domain)) throw optionError(`domain must be "raw", "mem" or "obj" (Domain.RAW, Domain.MEM, Domain.OBJ), got ${describeValue(domain)}`);
  if (imports !== undefined) {
    if (typeof imports !== "object" || imports === null) throw optionError(`imports must be an object of import modules, got ${describeValue(imports)}`);
    for (const [name, value] of Object.entries(imports)) {
      if (typeof value !== "object" || value === null) throw optionError(`imports.${name} must be an object, got ${describeValue(value)}`);
    }
  }
  if (wasi !== undefined && wasi !== false && (typeof wasi !== "object" || wasi === null)) throw optionError(`wasi must be an object or false, got ${describeValue(wasi)}`);
  if (maximum !== undefined && !(typeof maximum === "number" && Number.isInteger(maximum) && maximum >= PAGE_SIZE)) {
    throw optionError(`maximum must be a whole number of bytes, at least one page (${PAGE_SIZE}), got ${describeValue(maximum)}`);
  }
}

/** What the module imports and exports, checked against what instantiate can give it. */
interface ModuleShape {
  readonly imports: readonly WasmImportDescriptor[];
  readonly memory: WasmImportDescriptor;
}

function checkShape(api: WebAssemblyApi, module: WasmModule, options: InstantiateOptions): ModuleShape {
  const imports = api.Module.imports(module);
  const exports = api.Module.exports(module);
  const memories = imports.filter((i) => i.kind === "memory");
  if (memories.length === 0) {
    if (exports.some((e) => e.kind === "memory")) {
      throw incompatible("the module defines and exports its own memory; link it with -Wl,--import-memory so that it uses the memory tsmalloc manages");
    }
    throw incompatible("the module imports no memory; link it with -Wl,--import-memory");
  }
  if (memories.length > 1) throw incompatible(`the module imports ${memories.length} memories; it may import one`);
  if (!exports.some((e) => e.name === "__heap_base" && e.kind === "global")) {
    throw incompatible("the module does not export __heap_base, the end of its data and stack; link it with -Wl,--export=__heap_base");
  }
  const allocator = imports.filter((i) => i.module === ALLOCATOR_IMPORT_MODULE);
  if (allocator.length === 0) {
    throw incompatible(
      'the module imports no allocator function from "tsmalloc": compile c/tsmalloc-shim.c with it (without it, wasi-libc\'s own malloc takes the memory past __heap_base, where tsmalloc\'s heap goes)',
    );
  }
  const unknown = allocator.filter((i) => i.kind !== "function" || !ALLOCATOR_IMPORT_NAMES.includes(i.name));
  if (unknown.length > 0) {
    throw incompatible(
      `the module imports ${unknown.map((i) => `tsmalloc.${i.name} (${i.kind})`).join(", ")}, which this version of @tsmalloc/wasm does not provide; it provides ${ALLOCATOR_IMPORT_NAMES.join(", ")}`,
    );
  }
  const given = options.imports ?? {};
  const memory = memories[0]!;
  for (const reserved of [ALLOCATOR_IMPORT_MODULE, ...(options.wasi === false ? [] : [WASI_IMPORT_MODULE])]) {
    if (reserved in given) throw optionError(`imports.${reserved} is instantiate's to provide${reserved === WASI_IMPORT_MODULE ? " (pass wasi: false to provide your own)" : ""}`);
  }
  if (given[memory.module]?.[memory.name] !== undefined) throw optionError(`imports.${memory.module}.${memory.name} is the module's memory, which instantiate provides`);
  return { imports, memory };
}

/**
 * The pages the module's memory needs at least, found by linking it against scratch memories
 * (see the module comment): doubling until one links, then halving the gap.
 */
async function probeMinimumPages(api: WebAssemblyApi, module: WasmModule, shape: ModuleShape, given: WasmImports): Promise<number> {
  const stub = (): never => {
    throw new Error("instantiate: the module ran code while it was being measured");
  };
  const links = async (pages: number): Promise<boolean> => {
    const imports: WasmImports = {};
    for (const i of shape.imports) {
      const target = (imports[i.module] ??= {});
      if (i === shape.memory) target[i.name] = new api.Memory({ initial: pages });
      else target[i.name] = i.kind === "function" ? stub : given[i.module]?.[i.name];
    }
    try {
      await api.instantiate(module, imports);
      return true;
    } catch (error) {
      // a start function that ran into a stub has linked; only a LinkError means too small
      return !(error instanceof api.LinkError);
    }
  };
  let high = 1;
  while (!(await links(high))) {
    if (high >= DEFAULT_MAX_PAGES) {
      throw incompatible("the module links against no memory made here (does it declare a maximum, or a shared memory?); pass its bytes instead of a compiled module to see why");
    }
    high = Math.min(DEFAULT_MAX_PAGES, high * 2);
  }
  let low = high >>> 1; // does not link (or is 0)
  while (high - low > 1) {
    const mid = (low + high) >>> 1;
    if (await links(mid)) high = mid;
    else low = mid;
  }
  return high;
}

/** The memory and runtime for the module: the given runtime's, or new ones laid out for it. */
function layOut(
  api: WebAssemblyApi,
  options: InstantiateOptions,
  minimumPages: number,
  maximumPages: number | null,
): { runtime: Runtime; wasmMemory: WasmMemory } {
  const moduleBytes = minimumPages * PAGE_SIZE;
  if (options.runtime !== undefined) {
    const runtime = options.runtime;
    const source = runtime.memory.source;
    if (!isWasmMemory(api, source)) throw optionError("the runtime's memory must be a LinearMemory over a WebAssembly.Memory (new LinearMemory({ wasmMemory, base }))");
    if (runtime.memory.base < moduleBytes) {
      throw optionError(`the module needs the memory's first ${moduleBytes} bytes (${minimumPages} pages) for its data and stack, but the runtime's heap starts at base ${runtime.memory.base}; make its LinearMemory with base ${moduleBytes} or more`);
    }
    return { runtime, wasmMemory: source };
  }
  const wanted = options.maximum === undefined ? DEFAULT_MAX_PAGES : Math.min(MAX_PAGES, Math.floor(options.maximum / PAGE_SIZE));
  const maxPages = maximumPages === null ? wanted : Math.min(wanted, maximumPages);
  const env = processEnvironment();
  // parsed before anything is made, so that a bad name leaves nothing behind
  const allocator = parseAllocatorConfig(options.allocator ?? env[TSMALLOC_ENV], options.allocator === undefined ? TSMALLOC_ENV : FN);
  const runtimeOptions = options.runtimeOptions ?? {};
  const stats = runtimeOptions.stats ?? (options.allocator === undefined && (env[TSMALLOCSTATS_ENV] ?? "") !== "");
  let wasmMemory: WasmMemory;
  try {
    wasmMemory = new api.Memory({ initial: minimumPages, maximum: maxPages });
  } catch (cause) {
    throw new TsmallocError(ErrorCode.InvalidOption, `${FN}: could not create a WebAssembly.Memory of ${minimumPages} pages (maximum ${maxPages}): ${String(cause)}`, { cause });
  }
  const memory = new LinearMemory({ wasmMemory, base: moduleBytes, maximum: maxPages * PAGE_SIZE, zeroed: true });
  const runtime = createRuntime({ ...runtimeOptions, memory, allocator, stats });
  return { runtime, wasmMemory };
}

/**
 * Compiles (when given bytes) and instantiates a module built with `c/tsmalloc-shim.c`, on a
 * tsmalloc heap: the module's data and stack below `__heap_base`, tsmalloc's header and heaps from
 * the next 64 KiB page on, in the one memory the module imports. The C library's `malloc` family
 * is served by `domain` (MEM by default) of the runtime, `PyMem_*` / `PyObject_*` by their own
 * domains; the program runs under WASI (node:wasi in Node, the minimal WASI elsewhere). Nothing
 * runs until {@link TsmallocInstance.start} (a command) or `initialize` (a reactor).
 *
 * Build the module with `clang --target=wasm32-wasi -O2 prog.c tsmalloc-shim.c
 * -Wl,--import-memory -Wl,--export=__heap_base`.
 *
 * @param source the module's bytes (an ArrayBuffer or a view) or a compiled `WebAssembly.Module`
 * @returns the instance with its runtime and memory
 * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` for a bad option or source;
 *   `ERR_TSMALLOC_INCOMPATIBLE` when the bytes are no WebAssembly module, or the module cannot
 *   run on a tsmalloc heap: it defines its own memory, does not export `__heap_base`, imports no
 *   allocator function or one this version does not provide, imports something nobody provides,
 *   or fails to link; `ERR_TSMALLOC_UNKNOWN_ALLOCATOR` for an unknown configuration name (or
 *   `TSMALLOC`); whatever `createRuntime` throws
 */
export async function instantiate(source: ArrayBuffer | ArrayBufferView | WasmModule, options: InstantiateOptions = {}): Promise<TsmallocInstance> {
  checkOptions(options);
  const api = webAssembly(FN);
  const bytes = isWasmModule(api, source) ? null : bytesOf(source);
  if (bytes === null && !isWasmModule(api, source)) {
    throw optionError(`source must be the module's bytes (an ArrayBuffer or a view) or a WebAssembly.Module, got ${describeValue(source)}`);
  }
  let module: WasmModule;
  if (bytes === null) {
    module = source as WasmModule;
  } else {
    try {
      module = await api.compile(bytes);
    } catch (cause) {
      throw incompatible(`the bytes are not a valid WebAssembly module: ${(cause as Error).message}`, cause);
    }
  }
  const shape = checkShape(api, module, options);
  const given = options.imports ?? {};

  let minimumPages: number;
  let maximumPages: number | null = null;
  if (bytes !== null) {
    const declared = readMemoryImport(bytes);
    if (declared === null) throw incompatible("could not read the module's memory import");
    if (declared.memory64) throw incompatible("the module imports a 64-bit memory; tsmalloc's addresses are 32-bit (build for wasm32)");
    if (declared.shared) throw incompatible("the module imports a shared memory (threads), which @tsmalloc/wasm does not support yet; build it without threads");
    minimumPages = Math.max(1, declared.minimumPages);
    maximumPages = declared.maximumPages;
  } else {
    minimumPages = await probeMinimumPages(api, module, shape, given);
  }

  const domain = options.domain ?? Domain.MEM;
  const host: WasiHost | null = options.wasi === false ? null : await createWasiHost(options.wasi ?? {}, FN);
  // the runtime comes last, after every check that needs nothing made
  const imports: WasmImports = {};
  for (const [name, value] of Object.entries(given)) imports[name] = { ...value };
  if (host !== null) imports[WASI_IMPORT_MODULE] = host.imports;
  // the memory and the allocator functions are provided below; everything else must be there now
  const unprovided = shape.imports
    .filter((i) => i !== shape.memory && i.module !== ALLOCATOR_IMPORT_MODULE && imports[i.module]?.[i.name] === undefined)
    .map((i) => `${i.module}.${i.name} (${i.kind})`);
  if (unprovided.length > 0) throw incompatible(`the module imports ${unprovided.join(", ")}, which nothing provides; add ${unprovided.length === 1 ? "it" : "them"} to the imports option`);

  const { runtime, wasmMemory } = layOut(api, options, minimumPages, maximumPages);
  imports[ALLOCATOR_IMPORT_MODULE] = { ...allocatorImports(runtime, domain) };
  (imports[shape.memory.module] ??= {})[shape.memory.name] = wasmMemory;

  let instance;
  try {
    instance = await api.instantiate(module, imports);
  } catch (cause) {
    if (cause instanceof api.LinkError) throw incompatible(`the module does not link: ${(cause as Error).message}`, cause);
    throw cause;
  }
  const heapBase = Number((instance.exports["__heap_base"] as { value: unknown }).value) >>> 0;
  if (heapBase > runtime.memory.base) {
    throw incompatible(`the module's data and stack end at __heap_base = ${heapBase}, past tsmalloc's base ${runtime.memory.base}: its memory would overlap tsmalloc's header`);
  }
  return new TsmallocInstance({ instance, runtime, wasmMemory, heapBase, domain, host, ownsRuntime: options.runtime === undefined });
}
