/*
 * Choosing and making the WASI a program runs under: Node's node:wasi where there is one (files,
 * real descriptors), else the minimal one of this package. node:wasi is loaded with a dynamic
 * import of a computed name, so that bundlers for the browser leave it alone.
 */
import { describeValue, ErrorCode, TsmallocError } from "@tsmalloc/memory";
import { checkMinimalWasiOptions, MinimalWasi, type MinimalWasiOptions } from "./minimal-wasi.ts";
import { isWasiOptionKey, type WasiHost, type WasiOptions } from "./wasi-options.ts";
import type { WasmExports, WasmMemory, WasmModuleImports } from "./webassembly.ts";

/** The part of node:wasi's WASI class used here. */
interface NodeWasi {
  readonly wasiImport: WasmModuleImports;
  start(instance: { readonly exports: WasmExports }): number;
  initialize(instance: { readonly exports: WasmExports }): void;
}

interface NodeWasiModule {
  readonly WASI: new (options: {
    version: "preview1";
    args: readonly string[];
    env: Readonly<Record<string, string>>;
    preopens: Readonly<Record<string, string>>;
    returnOnExit: boolean;
    stdin?: number;
    stdout?: number;
    stderr?: number;
  }) => NodeWasi;
}

interface HostProcess {
  readonly versions?: { readonly node?: string };
}

/** True in Node (and runtimes that pose as it), where node:wasi can be imported. */
function inNode(): boolean {
  return typeof (globalThis as { process?: HostProcess }).process?.versions?.node === "string";
}

function optionError(message: string): TsmallocError {
  return new TsmallocError(ErrorCode.InvalidOption, message);
}

function isDescriptor(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0;
}

/**
 * Checks `wasi` (an instantiate option) and makes the host it asks for.
 * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` for a bad option, for node:wasi
 *   where there is none, and for options that only the other host understands
 * @internal
 */
export async function createWasiHost(options: WasiOptions, fn: string): Promise<WasiHost> {
  if (typeof options !== "object" || options === null) throw optionError(`${fn}: wasi must be an object or false, got ${describeValue(options)}`);
  for (const key of Object.keys(options)) if (!isWasiOptionKey(key)) throw optionError(`${fn}: unknown wasi option ${JSON.stringify(key)}`);
  const { host, stdout, stderr, stdin, preopens } = options;
  if (host !== undefined && host !== "node" && host !== "minimal") throw optionError(`${fn}: wasi.host must be "node" or "minimal", got ${describeValue(host)}`);
  const anyFunction = typeof stdout === "function" || typeof stderr === "function" || typeof stdin === "string" || stdin instanceof Uint8Array;
  const kind = host ?? (inNode() && !anyFunction ? "node" : "minimal");

  if (kind === "minimal") {
    if (preopens !== undefined) throw optionError(`${fn}: wasi.preopens needs node:wasi (host "node"); the minimal WASI has no files`);
    for (const [name, value] of [["stdout", stdout], ["stderr", stderr], ["stdin", stdin]] as const) {
      if (typeof value === "number") throw optionError(`${fn}: wasi.${name} is a file descriptor, which needs node:wasi (host "node"); give the minimal WASI a ${name === "stdin" ? "string or Uint8Array" : "function"}`);
    }
    const minimal: MinimalWasiOptions = {
      ...(options.args === undefined ? {} : { args: options.args }),
      ...(options.env === undefined ? {} : { env: options.env }),
      ...(typeof stdout === "function" ? { stdout } : {}),
      ...(typeof stderr === "function" ? { stderr } : {}),
      ...(stdin === undefined || typeof stdin === "number" ? {} : { stdin }),
    };
    checkMinimalWasiOptions(minimal, `${fn}: wasi`);
    const wasi = new MinimalWasi(minimal);
    return {
      kind,
      imports: wasi.wasiImport,
      start: (exports: WasmExports, memory: WasmMemory): number => wasi.start({ exports }, memory),
      initialize: (exports: WasmExports, memory: WasmMemory): void => wasi.initialize({ exports }, memory),
    };
  }

  if (!inNode()) throw optionError(`${fn}: wasi.host "node" needs Node's node:wasi, which this platform has not`);
  for (const [name, value] of [["stdout", stdout], ["stderr", stderr], ["stdin", stdin]] as const) {
    if (value !== undefined && !isDescriptor(value)) throw optionError(`${fn}: wasi.${name} must be a file descriptor for node:wasi (or use host "minimal"), got ${describeValue(value)}`);
  }
  checkMinimalWasiOptions({ ...(options.args === undefined ? {} : { args: options.args }), ...(options.env === undefined ? {} : { env: options.env }) }, `${fn}: wasi`);
  if (preopens !== undefined && (typeof preopens !== "object" || preopens === null || !Object.values(preopens).every((v) => typeof v === "string"))) {
    throw optionError(`${fn}: wasi.preopens must be an object of host paths, got ${describeValue(preopens)}`);
  }
  const specifier = "node:wasi";
  const { WASI } = (await import(/* @vite-ignore */ specifier)) as NodeWasiModule;
  const wasi = new WASI({
    version: "preview1",
    args: options.args ?? ["program"],
    env: options.env ?? {},
    preopens: preopens ?? {},
    returnOnExit: true,
    ...(typeof stdin === "number" ? { stdin } : {}),
    ...(typeof stdout === "number" ? { stdout } : {}),
    ...(typeof stderr === "number" ? { stderr } : {}),
  });
  // node:wasi reads the memory from the instance's exports; a module that imports its memory
  // exports none, so it gets an object with the entry point and the memory
  return {
    kind,
    imports: wasi.wasiImport,
    start: (exports: WasmExports, memory: WasmMemory): number => wasi.start({ exports: { _start: exports["_start"], memory } }),
    initialize: (exports: WasmExports, memory: WasmMemory): void => wasi.initialize({ exports: { _initialize: exports["_initialize"], memory } }),
  };
}
