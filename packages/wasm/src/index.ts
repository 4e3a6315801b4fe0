export { ALLOCATOR_IMPORT_MODULE, ALLOCATOR_IMPORT_NAMES, type AllocatorImports, allocatorImports } from "./allocator-imports.ts";
export { type InstantiateOptions, instantiate } from "./instantiate.ts";
export { type MemoryImport, readMemoryImport } from "./memory-import.ts";
export { MinimalWasi, type MinimalWasiOptions, ProgramExit } from "./minimal-wasi.ts";
export { TsmallocInstance } from "./tsmalloc-instance.ts";
export { WASI_IMPORT_MODULE, type WasiOptions, type WasiOutput } from "./wasi-options.ts";
export type {
  WasmExportDescriptor,
  WasmExports,
  WasmGlobal,
  WasmImportDescriptor,
  WasmImports,
  WasmInstance,
  WasmMemory,
  WasmModule,
  WasmModuleImports,
} from "./webassembly.ts";
