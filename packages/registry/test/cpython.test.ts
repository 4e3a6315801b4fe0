/*
 * CPython's own checks of the allocator domains, written as ours: Modules/_testcapi/mem.c
 * (test_pymem_alloc0, test_setallocators, set_nomemory), Lib/test/test_cmd_line.py
 * (test_pythonmalloc), Lib/test/test_capi/test_mem.py (test_api_misuse, test_set_nomemory) and
 * the facts of cpython.md §2.1 (double wrapping) and §5 (sys._debugmallocstats()).
 */
import { DebugAllocator, isDebugAllocator, withDebugHooks } from "@tsmalloc/debug";
import { type Allocator, ErrorCode, formatAddress, LinearMemory } from "@tsmalloc/memory";
import {
  type AllocatorConfig,
  type AllocatorName,
  createRuntime,
  createRuntimeFromEnv,
  Domain,
  DOMAINS,
  type Runtime,
} from "@tsmalloc/registry";
import { describe, expect, it } from "vitest";
import { CONFIGS, corruption, entryPoints, expectError, expectFilled, expectRuntimeOk, fill, RecordingHook } from "./helpers.ts";

const EXPECTED = "expected one of default, debug, malloc, malloc_debug, pymalloc, pymalloc_debug";

/** The lines of a report (it ends with a newline, which gives no line of its own). */
function lines(report: string): string[] {
  expect(report.endsWith("\n")).toBe(true);
  return report.slice(0, -1).split("\n");
}

/** `count` copies of a two-digit hex byte, space separated. */
function hexRun(byte: number, count: number): string {
  return Array.from({ length: count }, () => byte.toString(16).padStart(2, "0")).join(" ");
}

describe("test_pymem_alloc0: zero-size requests are distinct non-NULL pointers in every domain", () => {
  it.each(CONFIGS)("%s: Raw/Mem/Object Malloc(0) and Calloc(0, 0)", (config) => {
    const runtime = createRuntime({ allocator: config });
    const pointers = [
      runtime.rawMalloc(0),
      runtime.rawCalloc(0, 0),
      runtime.memMalloc(0),
      runtime.memCalloc(0, 0),
      runtime.objMalloc(0),
      runtime.objCalloc(0, 0),
    ];
    for (const p of pointers) expect(p).toBeGreaterThan(0);
    expect(new Set(pointers).size).toBe(6);
    const [rawM, rawC, memM, memC, objM, objC] = pointers as [number, number, number, number, number, number];
    runtime.rawFree(rawM);
    runtime.rawFree(rawC);
    runtime.memFree(memM);
    runtime.memFree(memC);
    runtime.objFree(objM);
    runtime.objFree(objC);
    expectRuntimeOk(runtime);
  });
});

describe("test_pymem_setrawallocators / test_pymem_setallocators / test_pyobject_setallocators", () => {
  const cases: [AllocatorConfig, Domain][] = [];
  for (const config of ["default", "malloc", "debug", "pymalloc_debug", "malloc_debug"] as const) {
    for (const domain of DOMAINS) cases.push([config, domain]);
  }

  it.each(cases)("%s, domain %s: a hook chained to the previous allocator sees exactly each call", (config, domain) => {
    const runtime = createRuntime({ allocator: config });
    const nameBefore = runtime.allocatorName();
    const previous = runtime.getAllocator(domain);
    const hook = new RecordingHook(previous);
    runtime.setAllocator(domain, hook);
    expect(runtime.getAllocator(domain)).toBe(hook);
    expect(runtime.allocatorName()).toBeNull();
    const api = entryPoints(runtime, domain);
    const memory = runtime.memory;

    const p = api.malloc(42);
    expect(p).toBeGreaterThan(0);
    fill(memory, p, 42, 0x5a);
    const q = api.realloc(p, 200);
    expect(q).toBeGreaterThan(0);
    expectFilled(memory, q, 42, 0x5a);
    api.free(q);
    const r = api.calloc(2, 5);
    expect(r).toBeGreaterThan(0);
    expectFilled(memory, r, 10, 0);
    api.free(r);

    expect(hook.calls).toEqual([
      { op: "malloc", size: 42, result: p },
      { op: "realloc", ptr: p, size: 200, result: q },
      { op: "free", ptr: q },
      { op: "calloc", nelem: 2, elsize: 5, result: r },
      { op: "free", ptr: r },
    ]);

    runtime.setAllocator(domain, previous);
    expect(runtime.getAllocator(domain)).toBe(previous);
    expect(runtime.allocatorName()).toBe(nameBefore);
    expectRuntimeOk(runtime);
  });

  it("pymalloc's own RAW requests reach a RAW hook (the arenas vector), not the MEM/OBJ entry points' sizes", () => {
    // what the note in the test above is about: with pymalloc, RAW also serves pymalloc itself
    const runtime = createRuntime({ allocator: "pymalloc" });
    const hook = new RecordingHook(runtime.getAllocator(Domain.RAW));
    runtime.setAllocator(Domain.RAW, hook);
    const small = runtime.objMalloc(16); // the first arena: pymalloc makes its arenas vector (16 slots of 48 bytes)
    expect(hook.calls).toHaveLength(1);
    const vector = hook.calls[0]!;
    expect(vector.op === "realloc" ? [vector.ptr, vector.size, vector.result > 0] : vector).toEqual([0, 16 * 48, true]);
    const big = runtime.memMalloc(1000); // over 512 bytes: pymalloc passes it to RAW
    expect(hook.calls.slice(1)).toEqual([{ op: "malloc", size: 1000, result: big }]);
    runtime.memFree(big);
    expect(hook.calls.slice(2)).toEqual([{ op: "free", ptr: big }]);
    runtime.objFree(small);
    expect(hook.calls).toHaveLength(3);
  });
});

describe("test_pythonmalloc: the configuration names and what each installs", () => {
  const table: [string, AllocatorConfig, AllocatorName][] = [
    ["", "default", "pymalloc"],
    ["default", "default", "pymalloc"],
    ["debug", "debug", "pymalloc_debug"],
    ["malloc", "malloc", "malloc"],
    ["malloc_debug", "malloc_debug", "malloc_debug"],
    ["pymalloc", "pymalloc", "pymalloc"],
    ["pymalloc_debug", "pymalloc_debug", "pymalloc_debug"],
  ];

  it.each(table)("allocator %j: config %s, allocatorName() %s", (value, config, name) => {
    const runtime = createRuntime({ allocator: value });
    expect(runtime.config).toBe(config);
    expect(runtime.allocatorName()).toBe(name);
    // the same through TSMALLOC
    const fromEnv = createRuntimeFromEnv({ TSMALLOC: value });
    expect(fromEnv.config).toBe(config);
    expect(fromEnv.allocatorName()).toBe(name);
  });

  it("an omitted allocator is default", () => {
    const runtime = createRuntime();
    expect(runtime.config).toBe("default");
    expect(runtime.allocatorName()).toBe("pymalloc");
  });

  function expectHooks(allocator: Allocator, api: "r" | "m" | "o", base: Allocator): void {
    expect(isDebugAllocator(allocator)).toBe(true);
    const hooks = allocator as DebugAllocator;
    expect(hooks.api).toBe(api);
    expect(hooks.wrapped).toBe(base);
    expect(hooks.extraBytes).toBe(24);
  }

  it.each(["default", "pymalloc"] as const)("%s: RAW is the system malloc, MEM and OBJ the runtime's pymalloc", (config) => {
    const runtime = createRuntime({ allocator: config });
    expect(runtime.pymallocHeap).not.toBeNull();
    expect(runtime.getAllocator(Domain.RAW)).toBe(runtime.mallocHeap);
    expect(runtime.getAllocator(Domain.MEM)).toBe(runtime.pymallocHeap);
    expect(runtime.getAllocator(Domain.OBJ)).toBe(runtime.pymallocHeap);
    expect(runtime.mallocHeap.memory).toBe(runtime.memory);
    expect(runtime.pymallocHeap!.memory).toBe(runtime.memory);
  });

  it.each(["debug", "pymalloc_debug"] as const)("%s: debug hooks 'r' over malloc, 'm' and 'o' over pymalloc", (config) => {
    const runtime = createRuntime({ allocator: config });
    const pymalloc = runtime.pymallocHeap;
    expect(pymalloc).not.toBeNull();
    expectHooks(runtime.getAllocator(Domain.RAW), "r", runtime.mallocHeap);
    expectHooks(runtime.getAllocator(Domain.MEM), "m", pymalloc!);
    expectHooks(runtime.getAllocator(Domain.OBJ), "o", pymalloc!);
    expect(runtime.getAllocator(Domain.MEM)).not.toBe(runtime.getAllocator(Domain.OBJ));
  });

  it("malloc: the system malloc in all three domains, no pymalloc", () => {
    const runtime = createRuntime({ allocator: "malloc" });
    expect(runtime.pymallocHeap).toBeNull();
    for (const domain of DOMAINS) expect(runtime.getAllocator(domain)).toBe(runtime.mallocHeap);
  });

  it("malloc_debug: debug hooks 'r', 'm', 'o' over the system malloc, no pymalloc", () => {
    const runtime = createRuntime({ allocator: "malloc_debug" });
    expect(runtime.pymallocHeap).toBeNull();
    expectHooks(runtime.getAllocator(Domain.RAW), "r", runtime.mallocHeap);
    expectHooks(runtime.getAllocator(Domain.MEM), "m", runtime.mallocHeap);
    expectHooks(runtime.getAllocator(Domain.OBJ), "o", runtime.mallocHeap);
  });

  it("allocatorName() follows what is installed, not the name the runtime was created with", () => {
    const runtime = createRuntime({ allocator: "malloc" });
    const malloc = runtime.mallocHeap;
    runtime.setAllocator(Domain.RAW, withDebugHooks(malloc, { api: "r" }));
    expect(runtime.allocatorName()).toBeNull();
    runtime.setAllocator(Domain.MEM, withDebugHooks(malloc, { api: "m" }));
    // OBJ hooks with the wrong API id do not make malloc_debug
    runtime.setAllocator(Domain.OBJ, withDebugHooks(malloc, { api: "m" }));
    expect(runtime.allocatorName()).toBeNull();
    runtime.setAllocator(Domain.OBJ, withDebugHooks(malloc, { api: "o" }));
    expect(runtime.allocatorName()).toBe("malloc_debug");
    expect(runtime.config).toBe("malloc");
    for (const domain of DOMAINS) runtime.setAllocator(domain, malloc);
    expect(runtime.allocatorName()).toBe("malloc");
  });
});

describe("PYTHONMALLOC: unknown allocator", () => {
  const unknown = ["Debug", "PYMALLOC", "malloc ", "x", "none", " default"];

  it.each(unknown)("createRuntime({ allocator: %j }) throws ERR_TSMALLOC_UNKNOWN_ALLOCATOR", (value) => {
    const error = expectError(() => createRuntime({ allocator: value }), ErrorCode.UnknownAllocator);
    expect(error.message).toBe(`createRuntime: unknown allocator "${value}"; ${EXPECTED}`);
  });

  it.each(unknown)("createRuntimeFromEnv({ TSMALLOC: %j }) throws ERR_TSMALLOC_UNKNOWN_ALLOCATOR", (value) => {
    const error = expectError(() => createRuntimeFromEnv({ TSMALLOC: value }), ErrorCode.UnknownAllocator);
    expect(error.message).toBe(`TSMALLOC: unknown allocator "${value}"; ${EXPECTED}`);
  });

  it.each(["mimalloc", "mimalloc_debug"])("%s is refused: this build has no mimalloc-style allocator", (value) => {
    const error = expectError(() => createRuntime({ allocator: value }), ErrorCode.UnknownAllocator);
    expect(error.message).toBe(
      `createRuntime: allocator "${value}" is not available: this build of tsmalloc has no mimalloc-style allocator; ${EXPECTED}`,
    );
    const fromEnv = expectError(() => createRuntimeFromEnv({ TSMALLOC: value }), ErrorCode.UnknownAllocator);
    expect(fromEnv.message).toBe(
      `TSMALLOC: allocator "${value}" is not available: this build of tsmalloc has no mimalloc-style allocator; ${EXPECTED}`,
    );
  });

  it("non-string values are unknown allocators too", () => {
    const cases: [unknown, string][] = [
      [42, "42"],
      [null, "null"],
      [{}, "an object ([object Object])"],
      [true, "a boolean"],
    ];
    for (const [value, shown] of cases) {
      const error = expectError(() => createRuntime({ allocator: value as string }), ErrorCode.UnknownAllocator);
      expect(error.message).toBe(`createRuntime: unknown allocator ${shown}; ${EXPECTED}`);
    }
  });

  it("an unknown name allocates nothing in the memory it was given", () => {
    const memory = new LinearMemory();
    const before = memory.stats();
    expectError(() => createRuntime({ memory, allocator: "Debug" }), ErrorCode.UnknownAllocator);
    expect(memory.stats()).toEqual(before);
    expect(memory.getRoot("tsrt")).toBe(0);
  });
});

describe("test_set_nomemory: _testcapi.set_nomemory(start, stop) and remove_mem_hooks()", () => {
  /** Allocates objMalloc(32) until it fails; returns the blocks. */
  function allocateUntilFailure(runtime: Runtime, limit = 1000): number[] {
    const blocks: number[] = [];
    for (let i = 0; i < limit; i++) {
      const p = runtime.objMalloc(32);
      if (p === 0) return blocks;
      blocks.push(p);
    }
    throw new Error(`objMalloc never failed in ${limit} calls`);
  }

  it("malloc: exactly `start` allocations succeed, for start = 10, 20, 30", () => {
    const runtime = createRuntime({ allocator: "malloc" });
    for (let outer = 1; outer <= 3; outer++) {
      const start = 10 * outer;
      runtime.setNoMemory(start);
      const blocks = allocateUntilFailure(runtime);
      expect(blocks.length).toBe(start);
      // every call after the first failure fails too (stop 0: no end)
      expect(runtime.objMalloc(32)).toBe(0);
      expect(runtime.rawMalloc(8)).toBe(0);
      runtime.removeMemHooks();
      const again = runtime.objMalloc(32);
      expect(again).toBeGreaterThan(0);
      blocks.push(again);
      for (const p of blocks) runtime.objFree(p);
    }
    expectRuntimeOk(runtime);
    expect(runtime.mallocHeap.stats().allocatedBlocks).toBe(1); // the runtime's record
  });

  it("default (pymalloc): start-4 <= j <= start, since pymalloc's own RAW requests count too", () => {
    const runtime = createRuntime({ allocator: "default" });
    for (let outer = 1; outer <= 3; outer++) {
      const start = 10 * outer;
      runtime.setNoMemory(start);
      const blocks = allocateUntilFailure(runtime);
      expect(blocks.length).toBeGreaterThanOrEqual(start - 4);
      expect(blocks.length).toBeLessThanOrEqual(start);
      runtime.removeMemHooks();
      const again = runtime.objMalloc(32);
      expect(again).toBeGreaterThan(0);
      blocks.push(again);
      for (const p of blocks) runtime.objFree(p);
    }
    expectRuntimeOk(runtime);
  });

  it("the first OBJ allocation of a pymalloc runtime is two counted calls: the arenas vector (RAW) and the block", () => {
    const runtime = createRuntime({ allocator: "pymalloc" });
    // call 1 is the OBJ request, call 2 pymalloc's RAW request for its arenas vector
    runtime.setNoMemory(1);
    expect(runtime.objMalloc(32)).toBe(0);
    runtime.removeMemHooks();
    runtime.setNoMemory(2);
    const p = runtime.objMalloc(32);
    expect(p).toBeGreaterThan(0);
    expect(runtime.objMalloc(32)).toBe(0);
    runtime.removeMemHooks();
    runtime.objFree(p);
    expectRuntimeOk(runtime);
  });

  it.each(["malloc", "default"] as const)("%s: one count across the three domains", (config) => {
    const runtime = createRuntime({ allocator: config });
    // warm pymalloc up so that no hidden RAW call is made below
    const warm = runtime.objMalloc(32);
    runtime.setNoMemory(3);
    const a = runtime.rawMalloc(16);
    const b = runtime.memMalloc(16);
    const c = runtime.objMalloc(16);
    for (const p of [a, b, c]) expect(p).toBeGreaterThan(0);
    expect(runtime.rawMalloc(16)).toBe(0);
    expect(runtime.memCalloc(2, 8)).toBe(0);
    expect(runtime.objRealloc(c, 100)).toBe(0);
    runtime.setNoMemory(3);
    const d = runtime.objCalloc(1, 8);
    const e = runtime.memRealloc(0, 8);
    const f = runtime.rawCalloc(1, 8);
    for (const p of [d, e, f]) expect(p).toBeGreaterThan(0);
    expect(runtime.memMalloc(8)).toBe(0);
    runtime.removeMemHooks();
    runtime.objFree(d);
    runtime.memFree(e);
    runtime.rawFree(f);
    runtime.rawFree(a);
    runtime.memFree(b);
    runtime.objFree(c);
    runtime.objFree(warm);
    expectRuntimeOk(runtime);
  });

  it("setNoMemory(2, 5): calls 1-2 succeed, 3-5 fail, 6 and later succeed; a failing realloc keeps the block", () => {
    const runtime = createRuntime({ allocator: "malloc" });
    const memory = runtime.memory;
    runtime.setNoMemory(2, 5);
    const p1 = runtime.memMalloc(40); // 1
    const p2 = runtime.objMalloc(40); // 2
    expect(p1).toBeGreaterThan(0);
    expect(p2).toBeGreaterThan(0);
    fill(memory, p1, 40, 0x61);
    expect(runtime.memRealloc(p1, 4000)).toBe(0); // 3
    expectFilled(memory, p1, 40, 0x61);
    expect(runtime.rawCalloc(4, 4)).toBe(0); // 4
    runtime.objFree(p2); // frees are not counted
    expect(runtime.objMalloc(8)).toBe(0); // 5
    const p6 = runtime.rawMalloc(8); // 6
    expect(p6).toBeGreaterThan(0);
    const p7 = runtime.memRealloc(p1, 4000); // 7
    expect(p7).toBeGreaterThan(0);
    expectFilled(memory, p7, 40, 0x61);
    runtime.removeMemHooks();
    runtime.rawFree(p6);
    runtime.memFree(p7);
    expectRuntimeOk(runtime);
  });

  it("a failing realloc under debug hooks leaves the block and its pads intact", () => {
    const runtime = createRuntime({ allocator: "debug" });
    const memory = runtime.memory;
    const p = runtime.objMalloc(40);
    fill(memory, p, 40, 0x33);
    runtime.setNoMemory(0);
    expect(runtime.objRealloc(p, 400)).toBe(0);
    expect(runtime.objRealloc(p, 4000)).toBe(0);
    runtime.removeMemHooks();
    expectFilled(memory, p, 40, 0x33);
    runtime.objFree(p); // the header and pads are whole, so the hooks accept it
    expectRuntimeOk(runtime);
  });

  it("installs one hook per domain over the current allocator; called again, it restarts the count without stacking", () => {
    const runtime = createRuntime({ allocator: "default" });
    const before = DOMAINS.map((d) => runtime.getAllocator(d));
    runtime.setNoMemory(1);
    const hooks = DOMAINS.map((d) => runtime.getAllocator(d));
    hooks.forEach((hook, i) => {
      expect(hook).not.toBe(before[i]);
      expect(hook.name).toBe("nomemory");
      expect((hook as Allocator & { wrapped: Allocator }).wrapped).toBe(before[i]);
    });
    expect(runtime.allocatorName()).toBeNull();
    const p = runtime.rawMalloc(8); // 1
    expect(p).toBeGreaterThan(0);
    expect(runtime.rawMalloc(8)).toBe(0); // 2
    runtime.setNoMemory(1);
    DOMAINS.forEach((d, i) => expect(runtime.getAllocator(d)).toBe(hooks[i]));
    const q = runtime.rawMalloc(8); // 1 again
    expect(q).toBeGreaterThan(0);
    expect(runtime.rawMalloc(8)).toBe(0);
    runtime.removeMemHooks();
    DOMAINS.forEach((d, i) => expect(runtime.getAllocator(d)).toBe(before[i]));
    expect(runtime.allocatorName()).toBe("pymalloc");
    // no-op when none are installed
    runtime.removeMemHooks();
    DOMAINS.forEach((d, i) => expect(runtime.getAllocator(d)).toBe(before[i]));
    runtime.rawFree(p);
    runtime.rawFree(q);
    expectRuntimeOk(runtime);
  });

  it("removeMemHooks gives back exactly the allocators each domain had, including a user's hook", () => {
    const runtime = createRuntime({ allocator: "malloc_debug" });
    const user = new RecordingHook(runtime.getAllocator(Domain.MEM));
    runtime.setAllocator(Domain.MEM, user);
    const before = DOMAINS.map((d) => runtime.getAllocator(d));
    runtime.setNoMemory(5);
    const p = runtime.memMalloc(8);
    runtime.memFree(p);
    expect(user.calls).toEqual([
      { op: "malloc", size: 8, result: p },
      { op: "free", ptr: p },
    ]);
    runtime.removeMemHooks();
    DOMAINS.forEach((d, i) => expect(runtime.getAllocator(d)).toBe(before[i]));
  });

  it.each([
    [-1, 0, "start", "-1"],
    [1.5, 0, "start", "1.5"],
    [Number.NaN, 0, "start", "NaN"],
    ["3", 0, "start", '"3"'],
    [2, -1, "stop", "-1"],
    [2, 1.5, "stop", "1.5"],
    [2, Number.NaN, "stop", "NaN"],
    [2, "3", "stop", '"3"'],
  ] as [unknown, unknown, string, string][])("setNoMemory(%s, %s) throws ERR_TSMALLOC_INVALID_SIZE and changes nothing", (start, stop, which, shown) => {
    const runtime = createRuntime({ allocator: "malloc" });
    const before = DOMAINS.map((d) => runtime.getAllocator(d));
    const error = expectError(() => runtime.setNoMemory(start as number, stop as number), ErrorCode.InvalidSize);
    expect(error.message).toBe(`setNoMemory: ${which} must be a non-negative integer, got ${shown}`);
    DOMAINS.forEach((d, i) => expect(runtime.getAllocator(d)).toBe(before[i]));
    // with the hooks installed, an invalid call keeps them and their count
    runtime.setNoMemory(3);
    const hooks = DOMAINS.map((d) => runtime.getAllocator(d));
    const blocks = [runtime.rawMalloc(8), runtime.rawMalloc(8)]; // 1, 2
    expectError(() => runtime.setNoMemory(start as number, stop as number), ErrorCode.InvalidSize);
    DOMAINS.forEach((d, i) => expect(runtime.getAllocator(d)).toBe(hooks[i]));
    blocks.push(runtime.rawMalloc(8)); // 3
    for (const p of blocks) expect(p).toBeGreaterThan(0);
    expect(runtime.rawMalloc(8)).toBe(0); // 4
    runtime.removeMemHooks();
    for (const p of blocks) runtime.rawFree(p);
  });
});

describe("test_api_misuse: a block freed through the wrong domain under debug hooks", () => {
  it.each(["debug", "malloc_debug", "pymalloc_debug"] as const)("%s: memMalloc(10) freed with rawFree is a bad ID, with the full dump", (config) => {
    const runtime = createRuntime({ allocator: config });
    const p = runtime.memMalloc(10);
    const error = corruption(() => runtime.rawFree(p));
    expect(lines(error.report)).toEqual([
      `Debug memory block at address p=${formatAddress(p)}: API 'm'`,
      "    10 bytes originally requested",
      "    The 7 pad bytes at p-7 are FORBIDDENBYTE, as expected.",
      `    The 8 pad bytes at tail=${formatAddress(p + 10)} are FORBIDDENBYTE, as expected.`,
      `    Data at p: ${hexRun(0xcd, 10)}`,
      "",
      "Enable tracemalloc to get the memory block allocation traceback",
      "",
      "Fatal tsmalloc error: debugRawFree: bad ID: Allocated using API 'm', verified using API 'r'",
    ]);
    expect(error.code).toBe(ErrorCode.Corruption);
    expect(error.message).toBe("debugRawFree: bad ID: Allocated using API 'm', verified using API 'r'");
    expect(error.func).toBe("debugRawFree");
    expect(error.api).toBe("m");
    expect(error.address).toBe(p);
    // the block is still live: the right domain frees it
    runtime.memFree(p);
    expectRuntimeOk(runtime);
  });

  it.each(["debug", "malloc_debug", "pymalloc_debug"] as const)("%s: objMalloc(24) freed with memFree is 'o' verified as 'm'", (config) => {
    const runtime = createRuntime({ allocator: config });
    const p = runtime.objMalloc(24);
    fill(runtime.memory, p, 24, 0x41);
    const error = corruption(() => runtime.memFree(p));
    expect(lines(error.report)).toEqual([
      `Debug memory block at address p=${formatAddress(p)}: API 'o'`,
      "    24 bytes originally requested",
      "    The 7 pad bytes at p-7 are FORBIDDENBYTE, as expected.",
      `    The 8 pad bytes at tail=${formatAddress(p + 24)} are FORBIDDENBYTE, as expected.`,
      "    Data at p: 41 41 41 41 41 41 41 41 ... 41 41 41 41 41 41 41 41",
      "",
      "Enable tracemalloc to get the memory block allocation traceback",
      "",
      "Fatal tsmalloc error: debugRawFree: bad ID: Allocated using API 'o', verified using API 'm'",
    ]);
    // realloc through the wrong domain is reported as debugRawRealloc
    expect(corruption(() => runtime.rawRealloc(p, 100)).message).toBe("debugRawRealloc: bad ID: Allocated using API 'o', verified using API 'r'");
    expectFilled(runtime.memory, p, 24, 0x41);
    runtime.objFree(p);
    expectRuntimeOk(runtime);
  });

  it("a RAW block freed with objFree under debug is 'r' verified as 'o'", () => {
    const runtime = createRuntime({ allocator: "debug" });
    const p = runtime.rawMalloc(16);
    expect(corruption(() => runtime.objFree(p)).message).toBe("debugRawFree: bad ID: Allocated using API 'r', verified using API 'o'");
    runtime.rawFree(p);
    expectRuntimeOk(runtime);
  });
});

describe("double wrapping (cpython.md §2.1): pymalloc's large blocks come from the RAW domain", () => {
  const bytesBefore = (runtime: Runtime, p: number, n: number): number[] => [...runtime.memory.u8.subarray(p - n, p)];

  it("debug: memMalloc(1000) carries an 'm' header around an 'r' header, byte for byte as CPython 3.11", () => {
    const runtime = createRuntime({ allocator: "debug" });
    const p = runtime.memMalloc(1000);
    // prettier-ignore
    expect(bytesBefore(runtime, p, 32)).toEqual([
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x72, 0xfd, 0xfd, 0xfd, 0xfd, 0xfd, 0xfd, 0xfd,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xe8, 0x6d, 0xfd, 0xfd, 0xfd, 0xfd, 0xfd, 0xfd, 0xfd,
    ]);
    // the inner block is the RAW domain's, not pymalloc's
    expect(runtime.pymallocHeap!.owns(p - 16)).toBe(false);
    expect(runtime.mallocHeap.owns(p - 32)).toBe(true);
    runtime.memFree(p);
    expectRuntimeOk(runtime);
  });

  it.each([
    [16, [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10]],
    [0, [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]],
  ])("debug: memMalloc(%i) is a pymalloc block with a single 'm' header", (n, size) => {
    const runtime = createRuntime({ allocator: "debug" });
    const p = runtime.memMalloc(n);
    expect(bytesBefore(runtime, p, 16)).toEqual([...size, 0x6d, 0xfd, 0xfd, 0xfd, 0xfd, 0xfd, 0xfd, 0xfd]);
    expect(runtime.pymallocHeap!.owns(p - 16)).toBe(true);
    // p-24 is inside pymalloc's previous block or pool header: no 'r' id at p-24
    expect(runtime.memory.u8[p - 24]).not.toBe(0x72);
    runtime.memFree(p);
    expectRuntimeOk(runtime);
  });

  it("pymalloc_debug: objMalloc(600) carries 'o' around 'r'", () => {
    const runtime = createRuntime({ allocator: "pymalloc_debug" });
    const p = runtime.objMalloc(600);
    // inner: 624 = 0x270 bytes, 'r'; outer: 600 = 0x258 bytes, 'o'
    // prettier-ignore
    expect(bytesBefore(runtime, p, 32)).toEqual([
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x70, 0x72, 0xfd, 0xfd, 0xfd, 0xfd, 0xfd, 0xfd, 0xfd,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x58, 0x6f, 0xfd, 0xfd, 0xfd, 0xfd, 0xfd, 0xfd, 0xfd,
    ]);
    runtime.objFree(p);
    expectRuntimeOk(runtime);
  });

  it("malloc_debug: no double wrapping (malloc serves large blocks itself)", () => {
    const runtime = createRuntime({ allocator: "malloc_debug" });
    const p = runtime.memMalloc(1000);
    expect(bytesBefore(runtime, p, 16)).toEqual([0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xe8, 0x6d, 0xfd, 0xfd, 0xfd, 0xfd, 0xfd, 0xfd, 0xfd]);
    expect(runtime.memory.u8[p - 24]).not.toBe(0x72);
    runtime.memFree(p);
    expectRuntimeOk(runtime);
  });
});

describe("sys._debugmallocstats(): debugMallocStats()", () => {
  it.each(["default", "pymalloc", "debug", "pymalloc_debug"] as const)("%s: pymalloc's table, looking through the hooks", (config) => {
    const runtime = createRuntime({ allocator: config });
    const p = runtime.objMalloc(100);
    const text = runtime.debugMallocStats();
    expect(text).toBe(runtime.pymallocHeap!.formatStats());
    expect(text.startsWith("Small block threshold = 512, in 32 size classes.\n")).toBe(true);
    runtime.objFree(p);
  });

  it.each(["malloc", "malloc_debug"] as const)("%s: empty (no pymalloc)", (config) => {
    const runtime = createRuntime({ allocator: config });
    runtime.objFree(runtime.objMalloc(10));
    expect(runtime.debugMallocStats()).toBe("");
  });

  it("empty when OBJ is replaced by the system malloc; pymalloc's again when it is put back", () => {
    const runtime = createRuntime({ allocator: "default" });
    const pymalloc = runtime.getAllocator(Domain.OBJ);
    runtime.setAllocator(Domain.OBJ, runtime.mallocHeap);
    expect(runtime.debugMallocStats()).toBe("");
    // MEM is still pymalloc, but the table follows OBJ, as CPython's _PyObject_DebugMallocStats
    runtime.setAllocator(Domain.OBJ, pymalloc);
    expect(runtime.debugMallocStats()).toBe(runtime.pymallocHeap!.formatStats());
  });

  it("the class table shows the blocks in use", () => {
    const runtime = createRuntime({ allocator: "default" });
    const emptyTable = runtime.debugMallocStats();
    expect(emptyTable).toContain("# arenas allocated current         =                    0\n");
    const blocks = Array.from({ length: 100 }, () => runtime.objMalloc(24));
    const text = runtime.debugMallocStats();
    const rows = text.split("\n");
    const header = rows.indexOf("-----   ----   ---------   -------------  ------------");
    expect(header).toBe(3);
    // class 1 (32 bytes): one 16 KiB pool of 510 blocks, 100 in use
    expect(rows[header + 1]).toBe("    1     32           1             100           410");
    expect(rows[header + 2]).toBe("");
    expect(text).toContain("# arenas allocated current         =                    1\n");
    expect(text).toContain("# bytes in allocated blocks        =                3,200\n");
    for (const p of blocks) runtime.objFree(p);
    expect(runtime.debugMallocStats()).not.toContain("    1     32");
  });
});
