/*
 * The part of the WebAssembly JavaScript API this package uses. TypeScript declares `WebAssembly`
 * only in the DOM library and @types/node 20 not at all; declaring the shapes here keeps the
 * package usable from any environment with neither (as @tsmalloc/memory does for the Memory).
 * The real objects satisfy these interfaces.
 */
import { ErrorCode, TsmallocError } from "@tsmalloc/memory";

/** A compiled WebAssembly module (`WebAssembly.Module`), opaque: only the WebAssembly API reads it. */
export type WasmModule = object;

/** What a module exports, by name: functions, globals, memories, tables. */
export type WasmExports = Readonly<Record<string, unknown>>;

/** An instantiated module (`WebAssembly.Instance`). */
export interface WasmInstance {
  readonly exports: WasmExports;
}

/** A `WebAssembly.Memory`. */
export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  grow(deltaPages: number): number;
}

/** A `WebAssembly.Global`. */
export interface WasmGlobal {
  readonly value: unknown;
}

/** The values of one import module: functions, memories, globals, tables, by field name. */
export type WasmModuleImports = Record<string, unknown>;

/** An import object: import module name to its values. */
export type WasmImports = Record<string, WasmModuleImports>;

/** One entry of `WebAssembly.Module.imports(module)`. */
export interface WasmImportDescriptor {
  readonly module: string;
  readonly name: string;
  readonly kind: string;
}

/** One entry of `WebAssembly.Module.exports(module)`. */
export interface WasmExportDescriptor {
  readonly name: string;
  readonly kind: string;
}

/** The `WebAssembly` namespace, as far as this package needs it. @internal */
export interface WebAssemblyApi {
  readonly Module: {
    new (bytes: Uint8Array): WasmModule;
    imports(module: WasmModule): WasmImportDescriptor[];
    exports(module: WasmModule): WasmExportDescriptor[];
  };
  readonly Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
  readonly Global: abstract new (...args: never[]) => WasmGlobal;
  readonly LinkError: abstract new (...args: never[]) => Error;
  compile(bytes: Uint8Array): Promise<WasmModule>;
  instantiate(module: WasmModule, imports: WasmImports): Promise<WasmInstance>;
}

/**
 * The platform's `WebAssembly` namespace.
 * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` where the platform has none
 * @internal
 */
export function webAssembly(fn: string): WebAssemblyApi {
  const api = (globalThis as { WebAssembly?: WebAssemblyApi }).WebAssembly;
  if (api === undefined) throw new TsmallocError(ErrorCode.InvalidOption, `${fn}: this platform has no WebAssembly`);
  return api;
}

/** True when `value` is a `WebAssembly.Module` of this realm. @internal */
export function isWasmModule(api: WebAssemblyApi, value: unknown): value is WasmModule {
  return value instanceof api.Module;
}

/** True when `value` is a `WebAssembly.Memory` of this realm. @internal */
export function isWasmMemory(api: WebAssemblyApi, value: unknown): value is WasmMemory {
  return value instanceof api.Memory;
}
