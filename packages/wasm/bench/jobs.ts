/*
 * What one benchmark run does, in a fresh worker (bench/worker.ts): a C program on one
 * allocator, or one probe of bench/calls.c. Every program runs first on a throw-away instance with
 * small arguments (so that V8 has compiled the module's hot functions and the allocator's code),
 * then is timed on a fresh instance from the call of `_start` to its return, in CPU time.
 */
import { readFileSync } from "node:fs";
import { LinearMemory } from "@tsmalloc/memory";
import { createRuntime, type Runtime } from "@tsmalloc/registry";
import { createTracemalloc } from "@tsmalloc/tracemalloc";
import { instantiate, MinimalWasi, readMemoryImport, type TsmallocInstance, type WasmInstance, type WasmMemory } from "../src/index.ts";

/** The module's own malloc, or a configuration of tsmalloc through imports. */
export type Contender = "dlmalloc" | "default" | "malloc" | "pymalloc_debug";

/** A C program run by one contender. */
export interface ProgramJob {
  readonly kind: "program";
  /** The module with tsmalloc's shim, and the same program with dlmalloc inside. */
  readonly modules: { readonly tsmalloc: string; readonly dlmalloc: string };
  readonly contender: Contender;
  readonly args: readonly string[];
  readonly warmArgs: readonly string[];
}

/**
 * Other wirings of calls.c's malloc and free to tsmalloc `default`, to weigh the parts of the
 * imports: `no-conversion` passes the signed i32 on as it comes (wrong for 2 GiB and more, fine
 * for 16 bytes), `no-dispatch` calls the runtime's pymalloc itself instead of the MEM domain's
 * entry point (wrong once a hook is installed).
 */
export type WiringVariant = "no-conversion" | "no-dispatch";

/** A loop of bench/calls.c: nanoseconds per iteration. */
export interface CallsJob {
  readonly kind: "calls";
  readonly modules: { readonly tsmalloc: string; readonly dlmalloc: string };
  /**
   * The loop, and who serves its malloc and free: `js` runs the same pairs from JavaScript on
   * tsmalloc `default`; `freelist` serves the module's pairs with a bare free list of 16-byte
   * blocks in JavaScript (no allocator's work: what is left is the boundary's cost).
   */
  readonly probe: "import" | "local" | "pairs";
  /** `traced`, `js-traced`: `default` and `js` with @tsmalloc/tracemalloc tracing 1 frame. */
  readonly contender: Contender | "js" | "freelist" | "traced" | "js-traced" | WiringVariant;
  readonly iterations: number;
  readonly size: number;
}

export type Job = ProgramJob | CallsJob;

/** What a run reports. */
export interface JobReply {
  readonly ok: boolean;
  /** CPU milliseconds of the timed run (programs), or CPU nanoseconds per iteration (calls). */
  readonly value?: number;
  readonly error?: string;
}

interface WebAssemblyGlobal {
  readonly WebAssembly: {
    Module: new (bytes: Uint8Array) => object;
    Instance: new (module: object, imports: object) => WasmInstance;
    Memory: new (descriptor: { initial: number; maximum?: number }) => WasmMemory;
  };
}

const wasm = (globalThis as unknown as WebAssemblyGlobal).WebAssembly;
const discard = (): void => {};

/**
 * Milliseconds of CPU time the process has used (user and system, all threads). Only the worker
 * runs while it is timed, so this is the run's own work; on a shared machine it leaves out the
 * time the scheduler gave to other processes, which wall time counts.
 */
function now(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** A program on dlmalloc inside the module, under the same minimal WASI as the others. */
function runOwnMalloc(module: object, args: readonly string[]): number {
  const wasi = new MinimalWasi({ args: ["program", ...args], stdout: discard, stderr: discard });
  const instance = new wasm.Instance(module, { wasi_snapshot_preview1: wasi.wasiImport, bench: { nothing: discard } });
  const started = now();
  const status = wasi.start(instance, instance.exports["memory"] as WasmMemory);
  const elapsed = now() - started;
  if (status !== 0) throw new Error(`the program exited with status ${status}`);
  return elapsed;
}

async function onTsmalloc(bytes: Uint8Array, contender: Contender, args: readonly string[]): Promise<TsmallocInstance> {
  return instantiate(bytes, {
    allocator: contender,
    wasi: { host: "minimal", args: ["program", ...args], stdout: discard, stderr: discard },
    imports: { bench: { nothing: discard } },
  });
}

async function runOnTsmalloc(bytes: Uint8Array, contender: Contender, args: readonly string[]): Promise<number> {
  const instance = await onTsmalloc(bytes, contender, args);
  const started = now();
  const status = instance.start();
  const elapsed = now() - started;
  if (status !== 0) throw new Error(`the program exited with status ${status}`);
  return elapsed;
}

async function runProgram(job: ProgramJob): Promise<number> {
  if (job.contender === "dlmalloc") {
    const module = new wasm.Module(readFileSync(job.modules.dlmalloc));
    runOwnMalloc(module, job.warmArgs);
    return runOwnMalloc(module, job.args);
  }
  const bytes = readFileSync(job.modules.tsmalloc);
  await runOnTsmalloc(bytes, job.contender, job.warmArgs);
  return runOnTsmalloc(bytes, job.contender, job.args);
}

/** JavaScript calling the runtime for the same pairs as calls.c's `pairs`. */
function jsPairs(runtime: Runtime, n: number, size: number): number {
  const live = new Float64Array(64);
  let failed = 0;
  for (let i = 0; i < n; i++) {
    const slot = Math.imul(i, 2654435761) >>> 26;
    runtime.memFree(live[slot]!);
    const p = runtime.memMalloc(size);
    live[slot] = p;
    if (p === 0) failed++;
  }
  for (let slot = 0; slot < 64; slot++) runtime.memFree(live[slot]!);
  return failed;
}

/**
 * calls.c with the shim, its malloc and free served by a stack of freed 16-byte blocks and a bump
 * pointer in JavaScript: the least an allocator behind the imports can cost.
 */
function freeListInstance(path: string): WasmInstance {
  const module = new wasm.Module(readFileSync(path));
  const memory = new wasm.Memory({ initial: 256 });
  const freed = new Uint32Array(1024);
  let top = 0;
  let next = 4 << 20; // past the module's data and stack
  const malloc = (): number => {
    if (top > 0) return freed[--top]!;
    next += 16;
    return next - 16;
  };
  const free = (ptr: number): void => {
    freed[top++] = ptr >>> 0;
  };
  const wasi = new MinimalWasi({ stdout: discard, stderr: discard });
  const instance = new wasm.Instance(module, { env: { memory }, tsmalloc: { malloc, free, calloc: () => 0 }, wasi_snapshot_preview1: wasi.wasiImport, bench: { nothing: discard } });
  wasi.initialize(instance, memory);
  return instance;
}

/** calls.c with the shim, its malloc and free wired to tsmalloc `default` as `variant` says. */
function rewiredInstance(path: string, variant: WiringVariant): WasmInstance {
  const bytes = readFileSync(path);
  const pages = readMemoryImport(bytes)!.minimumPages;
  const memory = new wasm.Memory({ initial: pages });
  const runtime = createRuntime({ allocator: "default", memory: new LinearMemory({ wasmMemory: memory, base: pages * 65536, zeroed: true }) });
  const pymalloc = runtime.pymallocHeap!;
  const tsmalloc =
    variant === "no-conversion"
      ? { malloc: (size: number): number => runtime.memMalloc(size), free: (ptr: number): void => runtime.memFree(ptr) }
      : { malloc: (size: number): number => pymalloc.malloc(size >>> 0), free: (ptr: number): void => pymalloc.free(ptr >>> 0) };
  const wasi = new MinimalWasi({ stdout: discard, stderr: discard });
  const instance = new wasm.Instance(new wasm.Module(bytes), { env: { memory }, tsmalloc, wasi_snapshot_preview1: wasi.wasiImport, bench: { nothing: discard } });
  wasi.initialize(instance, memory);
  return instance;
}

async function runCalls(job: CallsJob): Promise<number> {
  const n = job.iterations;
  if (job.contender === "js" || job.contender === "js-traced") {
    const runtime = createRuntime({ allocator: "default" });
    if (job.contender === "js-traced") createTracemalloc(runtime).start(1);
    jsPairs(runtime, n >>> 3, job.size);
    const started = now();
    jsPairs(runtime, n, job.size);
    return ((now() - started) * 1e6) / n;
  }
  let exports: Record<string, unknown>;
  if (job.contender === "freelist") {
    exports = freeListInstance(job.modules.tsmalloc).exports;
  } else if (job.contender === "no-conversion" || job.contender === "no-dispatch") {
    exports = rewiredInstance(job.modules.tsmalloc, job.contender).exports;
  } else if (job.contender === "dlmalloc") {
    const module = new wasm.Module(readFileSync(job.modules.dlmalloc));
    const wasi = new MinimalWasi({ stdout: discard, stderr: discard });
    const instance = new wasm.Instance(module, { wasi_snapshot_preview1: wasi.wasiImport, bench: { nothing: discard } });
    wasi.initialize(instance, instance.exports["memory"] as WasmMemory);
    exports = instance.exports;
  } else {
    const instance = await onTsmalloc(readFileSync(job.modules.tsmalloc), job.contender === "traced" ? "default" : job.contender, []);
    if (job.contender === "traced") createTracemalloc(instance.runtime).start(1);
    instance.initialize();
    exports = instance.exports;
  }
  const loop =
    job.probe === "pairs"
      ? (count: number): void => void (exports["pairs"] as (n: number, size: number) => number)(count, job.size)
      : (exports[job.probe === "import" ? "import_calls" : "local_calls"] as (n: number) => void);
  loop(n >>> 3); // warm-up
  const started = now();
  loop(n);
  return ((now() - started) * 1e6) / n;
}

/** Runs one job. */
export async function runJob(job: Job): Promise<JobReply> {
  try {
    return { ok: true, value: job.kind === "program" ? await runProgram(job) : await runCalls(job) };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) };
  }
}
