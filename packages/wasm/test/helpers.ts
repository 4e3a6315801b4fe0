/*
 * The tests' C modules and a way to run them. Every module is compiled by clang for wasm32-wasi
 * when it is missing or stale (tools/examples.ts); without the toolchain each test that needs one
 * fails with the one-line advice (CI installs it first with scripts/ensure-wasm-toolchain.sh).
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Domain } from "@tsmalloc/registry";
import {
  instantiate,
  type InstantiateOptions,
  MinimalWasi,
  type TsmallocInstance,
  type WasmExportDescriptor,
  type WasmImportDescriptor,
  type WasmImports,
  type WasmInstance,
  type WasmMemory,
  type WasmModule,
} from "../src/index.ts";
import { CountingHook } from "../tools/counting.ts";
import { ensureBuilt, type ExampleName, exampleModule, type ExampleVariant } from "../tools/examples.ts";

/**
 * The platform's WebAssembly API, typed for the tests (@types/node 20 declares the namespace's
 * types but not its value).
 */
export const wasm: {
  readonly Module: {
    new (bytes: Uint8Array): WasmModule;
    imports(module: WasmModule): WasmImportDescriptor[];
    exports(module: WasmModule): WasmExportDescriptor[];
  };
  readonly Instance: new (module: WasmModule, imports: WasmImports) => WasmInstance;
  readonly Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
  validate(bytes: Uint8Array): boolean;
} = (globalThis as unknown as { WebAssembly: typeof wasm }).WebAssembly;

/** The bytes of an example module (built first when needed). */
export function exampleBytes(name: ExampleName, variant: ExampleVariant = "tsmalloc"): Uint8Array {
  return readFileSync(exampleModule(name, variant));
}

/**
 * The bytes of test/fixtures/<name>.c built into dist/test/<output>.wasm: with the shim and its
 * flags unless `shim` is false, with `-fno-builtin` (so that clang keeps every malloc and free the
 * fixture makes, even those whose result it could fold away) and `flags`.
 */
export function fixtureBytes(name: string, options: { readonly output?: string; readonly shim?: boolean; readonly flags?: readonly string[] } = {}): Uint8Array {
  const source = fileURLToPath(new URL(`fixtures/${name}.c`, import.meta.url));
  const output = fileURLToPath(new URL(`../dist/test/${options.output ?? name}.wasm`, import.meta.url));
  return readFileSync(ensureBuilt(source, output, options.shim ?? true, ["-fno-builtin", ...(options.flags ?? [])]));
}

/** How a program run ended, and what it printed. */
export interface ProgramRun {
  readonly instance: TsmallocInstance;
  /** The exit status, or null when the program was stopped by an exception. */
  readonly status: number | null;
  readonly error: unknown;
  readonly stdout: string;
  readonly stderr: string;
  /** Calls and live blocks each domain saw, through counting hooks installed before the start (with `count`). */
  readonly hooks: Readonly<Record<Domain, CountingHook>>;
}

/** Options of {@link runProgram}: instantiate's, with the program's arguments and input. */
export interface RunOptions extends Omit<InstantiateOptions, "wasi"> {
  readonly args?: readonly string[];
  readonly stdin?: string;
  /** Install counting hooks on the three domains before the start. @defaultValue false */
  readonly count?: boolean;
  /** Called after instantiation, before the program starts (after the counting hooks). */
  readonly beforeStart?: (instance: TsmallocInstance) => void;
}

/**
 * Instantiates `bytes` (the minimal WASI, output captured), installs counting hooks on every
 * domain, and runs the program.
 */
export async function runProgram(bytes: Uint8Array, options: RunOptions = {}): Promise<ProgramRun> {
  let stdout = "";
  let stderr = "";
  const { args = [], stdin, count = false, beforeStart, ...rest } = options;
  const instance = await instantiate(bytes, {
    ...rest,
    wasi: {
      host: "minimal",
      args: ["program", ...args],
      stdout: (text) => (stdout += text),
      stderr: (text) => (stderr += text),
      ...(stdin === undefined ? {} : { stdin }),
    },
  });
  const runtime = instance.runtime;
  const hooks = {} as Record<Domain, CountingHook>;
  for (const domain of [Domain.RAW, Domain.MEM, Domain.OBJ]) {
    hooks[domain] = new CountingHook(runtime.getAllocator(domain));
    if (count) runtime.setAllocator(domain, hooks[domain]);
  }
  beforeStart?.(instance);
  let status: number | null = null;
  let error: unknown = null;
  try {
    status = instance.start();
  } catch (thrown) {
    error = thrown;
  }
  return { instance, status, error, stdout, stderr, hooks };
}

/**
 * Runs a plain WASI build (wasi-libc's dlmalloc inside the module, its own memory) under the
 * minimal WASI: the reference the tsmalloc builds' output is compared with.
 */
export function runOwnMalloc(bytes: Uint8Array, args: readonly string[] = [], stdin?: string): { status: number; stdout: string; stderr: string } {
  let stdout = "";
  let stderr = "";
  const wasi = new MinimalWasi({ args: ["program", ...args], stdout: (text) => (stdout += text), stderr: (text) => (stderr += text), ...(stdin === undefined ? {} : { stdin }) });
  const instance = new wasm.Instance(new wasm.Module(bytes), { wasi_snapshot_preview1: wasi.wasiImport });
  const status = wasi.start(instance);
  return { status, stdout, stderr };
}

/** binary-trees' output for a depth, worked out here from the algorithm. */
export function binaryTreesOutput(maxDepth: number): string {
  const nodes = (depth: number): number => 2 ** (depth + 1) - 1;
  let text = `stretch tree of depth ${maxDepth + 1}\t check: ${nodes(maxDepth + 1)}\n`;
  for (let depth = 4; depth <= maxDepth; depth += 2) {
    const iterations = 2 ** (maxDepth - depth + 4);
    text += `${iterations}\t trees of depth ${depth}\t check: ${iterations * nodes(depth)}\n`;
  }
  return `${text}long lived tree of depth ${maxDepth}\t check: ${nodes(maxDepth)}\n`;
}
