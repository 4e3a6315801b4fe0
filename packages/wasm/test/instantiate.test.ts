/*
 * instantiate(): the layout, the options, a compiled Module, a runtime of one's own, a reactor,
 * and a clear typed error for every module or option it cannot work with.
 */
import { DEFAULT_MAX_PAGES, ErrorCode, isTsmallocError, LinearMemory, PAGE_SIZE } from "@tsmalloc/memory";
import { createRuntime, Domain } from "@tsmalloc/registry";
import { afterEach, describe, expect, it } from "vitest";
import { LINK_FLAGS, SHIM_INCLUDE, SHIM_SOURCE } from "../src/compile.ts";
import { instantiate, type InstantiateOptions } from "../src/index.ts";
import { exampleBytes, fixtureBytes, runProgram, wasm } from "./helpers.ts";

async function thrown(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the promise to reject");
}

async function expectRefusal(source: unknown, options: unknown, code: string, message: RegExp | string): Promise<void> {
  const error = await thrown(instantiate(source as Uint8Array, options as InstantiateOptions));
  expect(isTsmallocError(error), String(error)).toBe(true);
  expect((error as { code: string }).code).toBe(code);
  if (typeof message === "string") expect((error as Error).message).toContain(message);
  else expect((error as Error).message).toMatch(message);
}

const quiet = { host: "minimal" as const, stdout: (): void => {}, stderr: (): void => {} };

describe("the modules it refuses", () => {
  it("one that defines and exports its own memory (built without -Wl,--import-memory)", async () => {
    await expectRefusal(exampleBytes("binary-trees", "dlmalloc"), {}, ErrorCode.Incompatible, "link it with -Wl,--import-memory");
  });

  it("one that does not export __heap_base", async () => {
    const bytes = fixtureBytes("host-import", { output: "no-heap-base", shim: false, flags: ["-I", SHIM_INCLUDE, SHIM_SOURCE, "-Wl,--import-memory"] });
    await expectRefusal(bytes, {}, ErrorCode.Incompatible, "does not export __heap_base, the end of its data and stack; link it with -Wl,--export=__heap_base");
  });

  it("one that imports an allocator function this version does not provide", async () => {
    await expectRefusal(fixtureBytes("unknown-import"), {}, ErrorCode.Incompatible, "imports tsmalloc.malloc_trim (function), which this version of @tsmalloc/wasm does not provide");
  });

  it("one that imports no allocator at all (its own dlmalloc would take the memory past __heap_base)", async () => {
    const bytes = fixtureBytes("host-import", { output: "no-shim", shim: false, flags: [...LINK_FLAGS] });
    await expectRefusal(bytes, { imports: { host: { answer: () => 42 } } }, ErrorCode.Incompatible, 'imports no allocator function from "tsmalloc": compile c/tsmalloc-shim.c with it');
  });

  it("one whose other imports nobody provides, naming each", async () => {
    await expectRefusal(fixtureBytes("host-import"), {}, ErrorCode.Incompatible, "the module imports host.answer (function), which nothing provides; add it to the imports option");
    await expectRefusal(fixtureBytes("host-import"), { wasi: false }, ErrorCode.Incompatible, /imports host\.answer \(function\), wasi_snapshot_preview1\.\w+ \(function\), .*wasi_snapshot_preview1\.proc_exit \(function\), which nothing provides; add them to the imports option$/);
  });

  it("bytes that are no WebAssembly module", async () => {
    await expectRefusal(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 99]), {}, ErrorCode.Incompatible, "the bytes are not a valid WebAssembly module");
    await expectRefusal(new TextEncoder().encode("int main(void) {}"), {}, ErrorCode.Incompatible, "the bytes are not a valid WebAssembly module");
  });
});

describe("the options it refuses, before it makes anything", () => {
  it.each([
    ["a source that is neither bytes nor a Module", "program.wasm", {}, "source must be the module's bytes"],
    ["options that are not an object", null, 42, "options must be an object"],
    ["an unknown option", null, { allocater: "malloc" }, 'unknown option "allocater"'],
    ["a runtime that is not one", null, { runtime: {} }, "runtime must be a Runtime"],
    ["allocator with a runtime", null, { runtime: createRuntime(), allocator: "malloc" }, "cannot apply to a given runtime"],
    ["an allocator that is not a name", null, { allocator: 3 }, "allocator must be a configuration name"],
    ["runtimeOptions.memory", null, { runtimeOptions: { memory: new LinearMemory() } }, "runtimeOptions.memory and runtimeOptions.allocator are instantiate's"],
    ["a domain that is not one", null, { domain: "MEM" }, 'domain must be "raw", "mem" or "obj"'],
    ["imports that are not objects", null, { imports: { host: 1 } }, "imports.host must be an object"],
    ["imports of the allocator module", null, { imports: { tsmalloc: {} } }, "imports.tsmalloc is instantiate's to provide"],
    ["imports of WASI with a WASI", null, { imports: { wasi_snapshot_preview1: {} } }, "pass wasi: false to provide your own"],
    ["imports of the memory", null, { imports: { env: { memory: {} } } }, "imports.env.memory is the module's memory"],
    ["a wasi that is not an object", null, { wasi: "node" }, "wasi must be an object or false"],
    ["an unknown wasi option", null, { wasi: { argv: [] } }, 'unknown wasi option "argv"'],
    ["a wasi host that is not one", null, { wasi: { host: "deno" } }, 'wasi.host must be "node" or "minimal"'],
    ["a descriptor for the minimal WASI", null, { wasi: { host: "minimal", stdout: 1 } }, "wasi.stdout is a file descriptor, which needs node:wasi"],
    ["a function for node:wasi", null, { wasi: { host: "node", stdout: () => {} } }, "wasi.stdout must be a file descriptor for node:wasi"],
    ["preopens for the minimal WASI", null, { wasi: { host: "minimal", preopens: { "/": "/" } } }, "wasi.preopens needs node:wasi"],
    ["args that are not strings", null, { wasi: { args: ["a", 1] } }, "wasi: args must be an array of strings"],
    ["a maximum below one page", null, { maximum: 100 }, "maximum must be a whole number of bytes, at least one page"],
  ])("%s", async (_, source, options, message) => {
    await expectRefusal(source ?? exampleBytes("binary-trees"), options, ErrorCode.InvalidOption, message);
  });

  it("an unknown allocator name, with the registry's message", async () => {
    await expectRefusal(exampleBytes("binary-trees"), { allocator: "pymalloc2" }, ErrorCode.UnknownAllocator, "instantiate: unknown allocator \"pymalloc2\"; expected one of default, debug, malloc, malloc_debug, pymalloc, pymalloc_debug");
    await expectRefusal(exampleBytes("binary-trees"), { allocator: "mimalloc" }, ErrorCode.UnknownAllocator, "instantiate: allocator \"mimalloc\" is not available");
  });
});

describe("the runtime it makes", () => {
  const saved = { TSMALLOC: process.env["TSMALLOC"], TSMALLOCSTATS: process.env["TSMALLOCSTATS"] };
  afterEach(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it("takes its configuration from TSMALLOC when allocator is not given, as the default runtime does", async () => {
    process.env["TSMALLOC"] = "malloc_debug";
    const instance = await instantiate(exampleBytes("binary-trees"), { wasi: quiet });
    expect(instance.runtime.allocatorName()).toBe("malloc_debug");
    process.env["TSMALLOC"] = "Debug";
    await expectRefusal(exampleBytes("binary-trees"), { wasi: quiet }, ErrorCode.UnknownAllocator, 'TSMALLOC: unknown allocator "Debug"');
    delete process.env["TSMALLOC"];
    expect((await instantiate(exampleBytes("binary-trees"), { wasi: quiet })).runtime.allocatorName()).toBe("pymalloc");
  });

  it("prints pymalloc's statistics with TSMALLOCSTATS at each new arena and when the program ends, as PYTHONMALLOCSTATS does", async () => {
    delete process.env["TSMALLOC"];
    process.env["TSMALLOCSTATS"] = "1";
    const printed: string[] = [];
    const instance = await instantiate(exampleBytes("binary-trees"), { wasi: { ...quiet, args: ["bt", "6"] }, runtimeOptions: { statsOutput: (text) => printed.push(text) } });
    expect(printed).toEqual([]);
    instance.start();
    const arenas = instance.runtime.pymallocHeap!.stats().arenasAllocatedTotal;
    expect(arenas).toBeGreaterThan(0);
    expect(printed).toHaveLength(arenas + 1); // one at each new arena, the last at the end
    expect(printed.at(-1)).toBe(instance.runtime.debugMallocStats());
    delete process.env["TSMALLOCSTATS"];
    const silent: string[] = [];
    const instance2 = await instantiate(exampleBytes("binary-trees"), { allocator: "default", runtimeOptions: { statsOutput: (text) => silent.push(text) }, wasi: { ...quiet, args: ["bt", "6"] } });
    instance2.start();
    expect(silent).toEqual([]);
  });

  it("leaves a runtime of one's own open when the program ends", async () => {
    const printed: string[] = [];
    const wasmMemory = new wasm.Memory({ initial: 2, maximum: 1024 });
    const runtime = createRuntime({ stats: true, statsOutput: (text) => printed.push(text), memory: new LinearMemory({ wasmMemory, base: 2 * PAGE_SIZE, maximum: 1024 * PAGE_SIZE }) });
    const instance = await instantiate(exampleBytes("binary-trees"), { runtime, wasi: { ...quiet, args: ["bt", "6"] } });
    instance.start();
    expect(runtime.printsStats).toBe(true);
    expect(printed).toHaveLength(runtime.pymallocHeap!.stats().arenasAllocatedTotal);
  });

  it("makes a memory of the module's pages plus the header, growing to the maximum asked", async () => {
    const instance = await instantiate(exampleBytes("binary-trees"), { allocator: "default", maximum: 8 << 20, wasi: quiet });
    expect(instance.memory.maxByteLength).toBe(8 << 20);
    expect(instance.memory.base % PAGE_SIZE).toBe(0);
    expect(instance.heapBase).toBeLessThanOrEqual(instance.memory.base);
    expect(instance.memory.base - instance.heapBase).toBeLessThan(PAGE_SIZE);
    const defaults = await instantiate(exampleBytes("binary-trees"), { allocator: "default", wasi: quiet });
    expect(defaults.memory.maxByteLength).toBe(DEFAULT_MAX_PAGES * PAGE_SIZE);
  });

  it("hands the program NULL when the memory is full, and the heap stays valid", async () => {
    const run = await runProgram(fixtureBytes("entry-points"), { allocator: "default", maximum: 16 << 20, args: ["nomem"] });
    expect(run.stdout).toMatch(/^got (\d+) blocks of 1 MiB, then NULL with errno ENOMEM\n$/);
    const got = Number(/^got (\d+)/.exec(run.stdout)![1]);
    expect(got).toBeGreaterThan(8);
    expect(got).toBeLessThan(16);
    expect(run.instance.runtime.check().ok).toBe(true);
  });

  it("is the same for a compiled WebAssembly.Module, whose pages it finds by trial", async () => {
    const bytes = exampleBytes("binary-trees");
    const fromBytes = await instantiate(bytes, { allocator: "default", wasi: quiet });
    const fromModule = await instantiate(new wasm.Module(bytes), { allocator: "default", wasi: { ...quiet, args: ["bt", "6"] } });
    expect(fromModule.memory.base).toBe(fromBytes.memory.base);
    expect(fromModule.heapBase).toBe(fromBytes.heapBase);
    expect(fromModule.start()).toBe(0);
  });
});

describe("a runtime of one's own", () => {
  it("serves the module when its memory leaves the module's pages below its base", async () => {
    const wasmMemory = new wasm.Memory({ initial: 2, maximum: 1024 });
    const runtime = createRuntime({ allocator: "pymalloc_debug", memory: new LinearMemory({ wasmMemory, base: 2 * PAGE_SIZE, maximum: 1024 * PAGE_SIZE }) });
    // JavaScript allocates first; the C program then shares the heap
    const before = runtime.memMalloc(100);
    let out = "";
    const instance = await instantiate(exampleBytes("binary-trees"), { runtime, wasi: { host: "minimal", args: ["bt", "6"], stdout: (text) => (out += text) } });
    expect(instance.runtime).toBe(runtime);
    expect(instance.wasmMemory).toBe(wasmMemory);
    expect(instance.start()).toBe(0);
    expect(out).toContain("long lived tree of depth 6\t check: 127\n");
    runtime.memFree(before);
    expect(runtime.check().ok).toBe(true);
  });

  it("is refused when its base would put tsmalloc's header in the module's data or stack", async () => {
    const wasmMemory = new wasm.Memory({ initial: 1, maximum: 1024 });
    const runtime = createRuntime({ memory: new LinearMemory({ wasmMemory, base: PAGE_SIZE, maximum: 1024 * PAGE_SIZE }) });
    await expectRefusal(exampleBytes("binary-trees"), { runtime }, ErrorCode.InvalidOption, /needs the memory's first 131072 bytes \(2 pages\) for its data and stack, but the runtime's heap starts at base 65536/);
    await expectRefusal(new wasm.Module(exampleBytes("binary-trees")), { runtime }, ErrorCode.InvalidOption, "make its LinearMemory with base 131072 or more");
  });

  it("is refused when its memory is not a WebAssembly.Memory", async () => {
    const runtime = createRuntime({ memory: new LinearMemory({ buffer: new ArrayBuffer(1 << 20), base: 2 * PAGE_SIZE }) });
    await expectRefusal(exampleBytes("binary-trees"), { runtime }, ErrorCode.InvalidOption, "the runtime's memory must be a LinearMemory over a WebAssembly.Memory");
  });
});

describe("the program's other imports, and reactors", () => {
  it("takes the host's functions through imports", async () => {
    let out = "";
    const instance = await instantiate(fixtureBytes("host-import"), { imports: { host: { answer: () => 42 } }, wasi: { host: "minimal", stdout: (text) => (out += text) } });
    expect(instance.start()).toBe(0);
    expect(out).toBe("the host answered 42\n");
  });

  it("runs a reactor: C and JavaScript hand blocks to each other on the one heap", async () => {
    const instance = await instantiate(fixtureBytes("reactor", { flags: ["-mexec-model=reactor"] }), { allocator: "pymalloc_debug", wasi: quiet });
    expect(() => instance.start()).toThrow(/the module has no _start export: it is not a command \(a reactor exports _initialize: call initialize\(\)\)/);
    instance.initialize();
    expect(() => instance.initialize()).toThrow("the program was started already");
    const { runtime, memory } = instance;
    const exports = instance.exports as { duplicate(p: number): number; release(p: number): void; new_object(v: number): number };
    // a string made in JavaScript, copied in C, read and freed in JavaScript
    const text = runtime.memMalloc(6);
    memory.u8.set(new TextEncoder().encode("hello\0"), text);
    const copy = exports.duplicate(text) >>> 0;
    expect(new TextDecoder().decode(memory.u8.subarray(copy, copy + 5))).toBe("hello");
    runtime.memFree(copy);
    exports.release(text);
    // an object from the OBJ domain, freed from JavaScript through OBJ (a MEM free is a bad API id)
    const object = exports.new_object(7) >>> 0;
    expect(memory.i32[object >>> 2]).toBe(7);
    expect(() => runtime.memFree(object)).toThrow("bad ID: Allocated using API 'o', verified using API 'm'");
    runtime.objFree(object);
    expect(runtime.check().ok).toBe(true);
  });

  it("refuses initialize() on a command", async () => {
    const instance = await instantiate(exampleBytes("binary-trees"), { wasi: quiet });
    expect(() => instance.initialize()).toThrow("the module has no _initialize export: it is not a reactor (a command exports _start: call start())");
  });

  it("runs a program twice only by instantiating it twice", async () => {
    const instance = await instantiate(exampleBytes("binary-trees"), { wasi: { ...quiet, args: ["bt", "6"] } });
    expect(instance.start()).toBe(0);
    expect(() => instance.start()).toThrow("the program was started already");
  });
});

describe("the domain of the C library's functions", () => {
  it.each([Domain.RAW, Domain.MEM, Domain.OBJ])("is %s when asked", async (domain) => {
    const run = await runProgram(exampleBytes("binary-trees"), { allocator: "pymalloc_debug", domain, args: ["6"], count: true });
    expect(run.status).toBe(0);
    for (const other of [Domain.RAW, Domain.MEM, Domain.OBJ]) {
      if (other === domain) expect(run.hooks[other].calls).toBeGreaterThan(1000);
      else if (!(other === Domain.RAW && domain !== Domain.RAW)) expect(run.hooks[other].calls).toBe(0);
    }
  });
});
