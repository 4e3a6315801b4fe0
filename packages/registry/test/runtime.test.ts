/*
 * The rules of a runtime beyond CPython's own checks: the entry points' wrappers (CPython's
 * PyMem_* size rules), bad input, getAllocator / setAllocator, setupDebugHooks, the options of
 * createRuntime and createRuntimeFromEnv, the arena allocator, statistics printing, the default
 * runtime behind the package's functions, and check().
 */
import { type DebugAllocator, DebugLayouts, isDebugAllocator, withDebugHooks } from "@tsmalloc/debug";
import { Malloc } from "@tsmalloc/malloc";
import { type Allocator, ErrorCode, formatAddress, LinearMemory, TsmallocError } from "@tsmalloc/memory";
import { type ArenaAllocator, inspectState, resolveLayout } from "@tsmalloc/pymalloc";
import {
  allocatorName,
  attachRuntime,
  type AllocatorConfig,
  createRuntime,
  createRuntimeFromEnv,
  debugMallocStats,
  defaultRuntime,
  Domain,
  DOMAINS,
  getAllocator,
  getArenaAllocator,
  isRuntimePlatform,
  MAX_REQUEST_SIZE,
  memCalloc,
  memFree,
  memMalloc,
  memRealloc,
  objCalloc,
  objFree,
  objMalloc,
  objRealloc,
  parseAllocatorConfig,
  PLATFORMS,
  rawCalloc,
  rawFree,
  rawMalloc,
  rawRealloc,
  removeMemHooks,
  Runtime,
  setAllocator,
  setArenaAllocator,
  setDefaultRuntime,
  setNoMemory,
  setupDebugHooks,
} from "@tsmalloc/registry";
import { describe, expect, it } from "vitest";
import {
  CONFIGS,
  DEBUG_CONFIGS,
  entryPoints,
  corruption,
  expectError,
  expectFilled,
  expectRuntimeOk,
  expectUnchanged,
  fill,
  RecordingHook,
  snapshot,
  thrown,
} from "./helpers.ts";


const DOMAIN_MESSAGE = 'domain must be "raw", "mem" or "obj" (Domain.RAW, Domain.MEM, Domain.OBJ), got';
const NOT_AN_ALLOCATOR = "the allocator must be an Allocator (name, memory, malloc, calloc, realloc, free), got";

function allocators(runtime: Runtime): Allocator[] {
  return DOMAINS.map((d) => runtime.getAllocator(d));
}

// -------------------------------------------------------------------------------------------------

describe("the entry points' wrappers (CPython's PyMem_* rules)", () => {
  const cases: [AllocatorConfig, Domain][] = [];
  for (const config of ["default", "malloc", "debug"] as const) for (const domain of DOMAINS) cases.push([config, domain]);

  it("MAX_REQUEST_SIZE is PY_SSIZE_T_MAX on wasm32", () => {
    expect(MAX_REQUEST_SIZE).toBe(2 ** 31 - 1);
  });

  it.each(cases)("%s, %s: sizes over MAX_REQUEST_SIZE return 0 without calling the allocator or changing memory", (config, domain) => {
    const runtime = createRuntime({ allocator: config });
    const api = entryPoints(runtime, domain);
    const p = api.malloc(24);
    fill(runtime.memory, p, 24, 0x77);
    const hook = new RecordingHook(runtime.getAllocator(domain));
    runtime.setAllocator(domain, hook);
    const before = snapshot(runtime.memory);
    for (const size of [MAX_REQUEST_SIZE + 1, 2 ** 32, 2 ** 40, Number.MAX_SAFE_INTEGER]) {
      expect(api.malloc(size)).toBe(0);
      expect(api.realloc(0, size)).toBe(0);
      expect(api.realloc(p, size)).toBe(0);
      expect(api.calloc(1, size)).toBe(0);
      expect(api.calloc(size, 1)).toBe(0);
    }
    // products over 2^31 - 1
    for (const [nelem, elsize] of [
      [2 ** 20, 2 ** 12],
      [2 ** 31 - 1, 2],
      [2 ** 16, 2 ** 15], // exactly 2^31
      [3, 715_827_883], // 2^31 + 1
      [2 ** 40, 2 ** 40],
    ] as const) {
      expect(api.calloc(nelem, elsize)).toBe(0);
    }
    expect(hook.calls).toEqual([]);
    expectUnchanged(runtime.memory, before);
    expectFilled(runtime.memory, p, 24, 0x77);
    api.free(p);
    expect(hook.calls).toEqual([{ op: "free", ptr: p }]);
    expectRuntimeOk(runtime);
  });

  it.each(cases)("%s, %s: calloc(huge, 0) and calloc(0, huge) reach the allocator (the rule needs elsize != 0)", (config, domain) => {
    const runtime = createRuntime({ allocator: config });
    const api = entryPoints(runtime, domain);
    const hook = new RecordingHook(runtime.getAllocator(domain));
    runtime.setAllocator(domain, hook);
    const a = api.calloc(2 ** 40, 0);
    const b = api.calloc(0, 2 ** 40);
    const c = api.calloc(0, 0);
    for (const p of [a, b, c]) expect(p).toBeGreaterThan(0);
    expect(new Set([a, b, c]).size).toBe(3);
    expect(hook.calls).toEqual([
      { op: "calloc", nelem: 2 ** 40, elsize: 0, result: a },
      { op: "calloc", nelem: 0, elsize: 2 ** 40, result: b },
      { op: "calloc", nelem: 0, elsize: 0, result: c },
    ]);
    // the largest product allowed reaches the allocator too (which has no 2 GiB to give here)
    for (const p of [a, b, c]) api.free(p);
    expectRuntimeOk(runtime);
  });

  it.each(cases)("%s, %s: realloc(p, 2^31) returns 0 and leaves the block as it was", (config, domain) => {
    const runtime = createRuntime({ allocator: config });
    const api = entryPoints(runtime, domain);
    const p = api.malloc(700);
    fill(runtime.memory, p, 700, 0x3c);
    expect(api.realloc(p, 2 ** 31)).toBe(0);
    expectFilled(runtime.memory, p, 700, 0x3c);
    const q = api.realloc(p, 800); // still the domain's live block
    expect(q).toBeGreaterThan(0);
    expectFilled(runtime.memory, q, 700, 0x3c);
    api.free(q);
    expectRuntimeOk(runtime);
  });
});

// -------------------------------------------------------------------------------------------------

describe("free(0) reaches the allocator (PyMem_Free(NULL) calls the domain's free, which does nothing)", () => {
  it.each(CONFIGS)("%s: rawFree(0), memFree(0) and objFree(0) each reach a hook installed with setAllocator, and change nothing", (config) => {
    const runtime = createRuntime({ allocator: config });
    const hooks = DOMAINS.map((domain) => {
      const hook = new RecordingHook(runtime.getAllocator(domain));
      runtime.setAllocator(domain, hook);
      return hook;
    });
    const before = snapshot(runtime.memory);
    for (const [i, domain] of DOMAINS.entries()) {
      entryPoints(runtime, domain).free(0);
      // only the domain called sees it, once; the allocator under the hook treats 0 as a no-op
      expect(hooks.map((hook) => hook.calls.length), `${config}, ${domain}`).toEqual(DOMAINS.map((_, j) => (j <= i ? 1 : 0)));
      expect(hooks[i]!.calls).toEqual([{ op: "free", ptr: 0 }]);
    }
    expectUnchanged(runtime.memory, before);
    expectRuntimeOk(runtime);
  });

  it("the package's functions pass 0 on too", () => {
    const runtime = createRuntime();
    const previous = setDefaultRuntime(runtime);
    try {
      const hooks = DOMAINS.map((domain) => {
        const hook = new RecordingHook(runtime.getAllocator(domain));
        runtime.setAllocator(domain, hook);
        return hook;
      });
      rawFree(0);
      memFree(0);
      objFree(0);
      for (const hook of hooks) expect(hook.calls).toEqual([{ op: "free", ptr: 0 }]);
    } finally {
      if (previous !== undefined) setDefaultRuntime(previous);
    }
  });

  it("under setNoMemory, free(0) goes through the fault hooks to the allocator below, uncounted", () => {
    const runtime = createRuntime({ allocator: "malloc" });
    const hook = new RecordingHook(runtime.getAllocator(Domain.MEM));
    runtime.setAllocator(Domain.MEM, hook);
    runtime.setNoMemory(1);
    runtime.memFree(0);
    expect(hook.calls).toEqual([{ op: "free", ptr: 0 }]);
    const p = runtime.memMalloc(8); // call #1: free(0) was not counted
    expect(p).not.toBe(0);
    expect(runtime.memMalloc(8)).toBe(0); // call #2
    runtime.removeMemHooks();
    runtime.memFree(p);
  });
});

// -------------------------------------------------------------------------------------------------

describe("invalid arguments", () => {
  const BAD_SIZES: [string, unknown][] = [
    ["NaN", Number.NaN],
    ["-1", -1],
    ["1.5", 1.5],
    ["Infinity", Number.POSITIVE_INFINITY],
    ["-Infinity", Number.NEGATIVE_INFINITY],
    ['"8"', "8"],
    ["undefined", undefined],
    ["null", null],
    ["2n", 2n],
    ["Symbol()", Symbol("size")],
  ];

  it.each(BAD_SIZES)("size %s: every malloc/calloc/realloc entry point of every domain throws ERR_TSMALLOC_INVALID_SIZE, changing nothing", (_, value) => {
    const size = value as number;
    for (const config of CONFIGS) {
      const runtime = createRuntime({ allocator: config });
      const blocks = DOMAINS.map((d) => entryPoints(runtime, d).malloc(40));
      const before = snapshot(runtime.memory);
      DOMAINS.forEach((domain, i) => {
        const api = entryPoints(runtime, domain);
        const where = `${config} ${domain}`;
        const calls: [string, () => unknown][] = [
          ["malloc", () => api.malloc(size)],
          ["calloc(x, 1)", () => api.calloc(size, 1)],
          ["calloc(1, x)", () => api.calloc(1, size)],
          ["calloc(x, x)", () => api.calloc(size, size)],
          ["realloc(0, x)", () => api.realloc(0, size)],
          ["realloc(p, x)", () => api.realloc(blocks[i]!, size)],
        ];
        for (const [name, call] of calls) {
          const error = thrown(call);
          expect(error instanceof TsmallocError ? error.code : `${where} ${name}: ${String(error)}`, `${where} ${name}`).toBe(ErrorCode.InvalidSize);
          expect((error as Error).message, `${where} ${name}`).toMatch(/: (size|nelem|elsize) must be a non-negative integer number, got /);
        }
      });
      expectUnchanged(runtime.memory, before);
      DOMAINS.forEach((d, i) => entryPoints(runtime, d).free(blocks[i]!));
      expectRuntimeOk(runtime);
    }
  });

  it.each(CONFIGS)("%s: realloc of a non-address pointer throws ERR_TSMALLOC_INVALID_POINTER, with any size", (config) => {
    const runtime = createRuntime({ allocator: config });
    const p = runtime.memMalloc(8);
    const before = snapshot(runtime.memory);
    for (const domain of DOMAINS) {
      const api = entryPoints(runtime, domain);
      for (const [shown, ptr] of [["1.5", 1.5], ["-1", -1], ['"8"', "8"], ["NaN", Number.NaN], ["4294967296", 2 ** 32], ["undefined", undefined]] as const) {
        const oversize = expectError(() => api.realloc(ptr as number, 2 ** 31), ErrorCode.InvalidPointer);
        expect(oversize.message).toBe(`${api.names.realloc}: pointer must be an integer address in [0, 2^32), got ${shown}`);
        expectError(() => api.realloc(ptr as number, 16), ErrorCode.InvalidPointer);
        expectError(() => api.free(ptr as number), ErrorCode.InvalidPointer);
      }
    }
    expectUnchanged(runtime.memory, before);
    runtime.memFree(p);
  });

  it.each(CONFIGS)("%s: foreign and misaligned pointers are refused by free in every domain, changing nothing", (config) => {
    const runtime = createRuntime({ allocator: config });
    const p = runtime.objMalloc(64);
    const big = runtime.memMalloc(2000);
    const before = snapshot(runtime.memory);
    const outside = 2 ** 30;
    const debug = DEBUG_CONFIGS.has(config);
    for (const domain of DOMAINS) {
      const api = entryPoints(runtime, domain);
      const apiId = domain === Domain.RAW ? "r" : domain === Domain.MEM ? "m" : "o";
      for (const [ptr, idByte] of [
        [p + 1, "\\xfd"],
        [p + 4, "\\xfd"],
        [big + 8, "\\xcd"],
      ] as const) {
        if (debug) {
          // the hooks read the API id 8 bytes before the pointer: a pad byte or a data byte
          const error = corruption(() => api.free(ptr));
          expect(error.message).toBe(`debugRawFree: bad ID: Allocated using API '${idByte}', verified using API '${apiId}'`);
          expect(error.address).toBe(ptr);
        } else {
          expectError(() => api.free(ptr), ErrorCode.InvalidPointer);
        }
      }
      const error = expectError(() => api.free(outside), ErrorCode.InvalidPointer);
      const end = runtime.memory.byteLength;
      expect(error.message).toBe(
        debug
          ? `free: ${formatAddress(outside)} cannot be a debug block: its 16-byte header would lie outside the memory (${end} bytes)`
          : `free: ${formatAddress(outside)} is outside the memory (${end} bytes)`,
      );
      if (!debug) {
        expect(expectError(() => api.free(8), ErrorCode.InvalidPointer).message).toBe("free: 0x8 is not 16-byte aligned, so it is not a block of this heap");
      }
    }
    expectUnchanged(runtime.memory, before);
    runtime.objFree(p);
    runtime.memFree(big);
    expectRuntimeOk(runtime);
  });
});

// -------------------------------------------------------------------------------------------------

describe("getAllocator / setAllocator", () => {
  const BAD_DOMAINS: [unknown, string][] = [
    ["RAW", '"RAW"'],
    [0, "0"],
    [undefined, "undefined"],
    ["objects", '"objects"'],
    [null, "null"],
  ];

  it.each(BAD_DOMAINS)("domain %s: both throw ERR_TSMALLOC_INVALID_OPTION naming the domains", (domain, shown) => {
    const runtime = createRuntime();
    const before = allocators(runtime);
    const get = expectError(() => runtime.getAllocator(domain as Domain), ErrorCode.InvalidOption);
    expect(get.message).toBe(`getAllocator: ${DOMAIN_MESSAGE} ${shown}`);
    const set = expectError(() => runtime.setAllocator(domain as Domain, runtime.mallocHeap), ErrorCode.InvalidOption);
    expect(set.message).toBe(`setAllocator: ${DOMAIN_MESSAGE} ${shown}`);
    expect(allocators(runtime)).toEqual(before);
    allocators(runtime).forEach((a, i) => expect(a).toBe(before[i]));
  });

  it("setAllocator refuses what is not an Allocator, leaving the domain as it was", () => {
    const runtime = createRuntime({ allocator: "debug" });
    const heap = runtime.mallocHeap;
    const missingFree = { name: "x", memory: runtime.memory, malloc: () => 0, calloc: () => 0, realloc: () => 0 };
    const numericName = { name: 5, memory: runtime.memory, malloc: () => 0, calloc: () => 0, realloc: () => 0, free: () => {} };
    const cases: [unknown, string][] = [
      [{}, "an object ([object Object])"],
      [null, "null"],
      [undefined, "undefined"],
      [heap.malloc.bind(heap), "a function"],
      [missingFree, "an object ([object Object])"],
      [numericName, "an object ([object Object])"],
    ];
    for (const domain of DOMAINS) {
      const before = runtime.getAllocator(domain);
      for (const [value, shown] of cases) {
        const error = expectError(() => runtime.setAllocator(domain, value as Allocator), ErrorCode.InvalidOption);
        expect(error.message).toBe(`setAllocator: ${NOT_AN_ALLOCATOR} ${shown}`);
        expect(runtime.getAllocator(domain)).toBe(before);
      }
    }
    expect(runtime.allocatorName()).toBe("pymalloc_debug");
  });

  it("setAllocator refuses an allocator over another memory, leaving the domain as it was", () => {
    const runtime = createRuntime({ allocator: "malloc" });
    const other = new Malloc(new LinearMemory());
    for (const domain of DOMAINS) {
      const error = expectError(() => runtime.setAllocator(domain, other), ErrorCode.InvalidOption);
      expect(error.message).toBe(`setAllocator: allocator "malloc" must allocate from this runtime's memory`);
      expect(runtime.getAllocator(domain)).toBe(runtime.mallocHeap);
    }
    // another runtime's pymalloc in another memory, too
    const foreign = createRuntime();
    expectError(() => runtime.setAllocator(Domain.OBJ, foreign.pymallocHeap!), ErrorCode.InvalidOption);
    expect(runtime.allocatorName()).toBe("malloc");
  });

  it("a domain's allocator can be any Allocator over the memory: the runtime's malloc serving OBJ", () => {
    const runtime = createRuntime({ allocator: "default" });
    runtime.setAllocator(Domain.OBJ, runtime.mallocHeap);
    expect(runtime.allocatorName()).toBeNull();
    const p = runtime.objMalloc(24);
    expect(runtime.mallocHeap.owns(p)).toBe(true);
    expect(runtime.pymallocHeap!.owns(p)).toBe(false);
    runtime.objFree(p);
    runtime.setAllocator(Domain.MEM, runtime.mallocHeap);
    expect(runtime.allocatorName()).toBe("malloc");
    expectRuntimeOk(runtime);
  });
});

// -------------------------------------------------------------------------------------------------

describe("setupDebugHooks (PyMem_SetupDebugHooks)", () => {
  it("on a fresh default runtime wraps RAW, MEM and OBJ in hooks of their API over the previous allocators", () => {
    const runtime = createRuntime();
    const before = allocators(runtime);
    runtime.setupDebugHooks();
    const after = allocators(runtime);
    (["r", "m", "o"] as const).forEach((api, i) => {
      expect(isDebugAllocator(after[i])).toBe(true);
      const hooks = after[i] as DebugAllocator;
      expect(hooks.api).toBe(api);
      expect(hooks.wrapped).toBe(before[i]);
      expect(hooks.extraBytes).toBe(24);
    });
    expect(runtime.allocatorName()).toBe("pymalloc_debug");
    expect(runtime.config).toBe("default");
    // again: nothing new
    runtime.setupDebugHooks();
    allocators(runtime).forEach((a, i) => expect(a).toBe(after[i]));
    expectRuntimeOk(runtime);
  });

  it("after it, pymalloc's large blocks carry 'm' around 'r'", () => {
    const runtime = createRuntime();
    runtime.setupDebugHooks();
    const p = runtime.memMalloc(1000);
    // prettier-ignore
    expect([...runtime.memory.u8.subarray(p - 32, p)]).toEqual([
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x72, 0xfd, 0xfd, 0xfd, 0xfd, 0xfd, 0xfd, 0xfd,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xe8, 0x6d, 0xfd, 0xfd, 0xfd, 0xfd, 0xfd, 0xfd, 0xfd,
    ]);
    runtime.memFree(p);
    expectRuntimeOk(runtime);
  });

  it("on a fresh default runtime, pymalloc's arenas vector is a RAW block with 'r' hooks, as under 'debug'", () => {
    // pymalloc's first arena is made while the hooks are being installed (the MEM hooks' state
    // block comes from pymalloc); the arenas vector it asks RAW for must carry RAW's hooks,
    // since pymalloc later grows it through the (then hooked) RAW domain
    for (const setup of ["debug config", "setupDebugHooks"] as const) {
      const runtime = setup === "debug config" ? createRuntime({ allocator: "debug" }) : createRuntime();
      if (setup === "setupDebugHooks") runtime.setupDebugHooks();
      const p = runtime.objMalloc(8);
      const vector = inspectState(runtime.pymallocHeap!).arenas;
      expect(vector, setup).toBeGreaterThan(0);
      expect(String.fromCharCode(runtime.memory.u8[vector - 8]!), `${setup}: API id of the arenas vector`).toBe("r");
      runtime.objFree(p);
    }
  });

  it("after setupDebugHooks on a fresh runtime, pymalloc can grow past 16 arenas", () => {
    // the 17th arena reallocates the arenas vector through the hooked RAW domain
    const runtime = createRuntime({ pymalloc: { layout: "python38" } });
    runtime.setupDebugHooks();
    const blocks: number[] = [];
    const heap = runtime.pymallocHeap!;
    let error: unknown = null;
    try {
      while (heap.stats().arenasAllocatedCurrent < 17 && blocks.length < 20_000) {
        for (let i = 0; i < 500; i++) blocks.push(runtime.objMalloc(400));
      }
    } catch (caught) {
      error = caught;
    }
    expect(error === null ? "no error" : String((error as Error).message)).toBe("no error");
    expect(heap.stats().arenasAllocatedCurrent).toBeGreaterThanOrEqual(17);
    for (const p of blocks) runtime.objFree(p);
    expectRuntimeOk(runtime);
  });

  it("on a malloc runtime gives malloc_debug", () => {
    const runtime = createRuntime({ allocator: "malloc" });
    runtime.setupDebugHooks();
    expect(runtime.allocatorName()).toBe("malloc_debug");
    for (const domain of DOMAINS) expect((runtime.getAllocator(domain) as DebugAllocator).wrapped).toBe(runtime.mallocHeap);
    // a malloc runtime may be hooked after allocating: RAW blocks are never pymalloc's
    const runtime2 = createRuntime({ allocator: "malloc" });
    const p = runtime2.memMalloc(100);
    runtime2.memFree(p);
    runtime2.setupDebugHooks();
    expect(runtime2.allocatorName()).toBe("malloc_debug");
  });

  it("skips a domain the user already hooked", () => {
    const runtime = createRuntime({ allocator: "malloc" });
    const mine = withDebugHooks(runtime.mallocHeap, { api: "m" });
    runtime.setAllocator(Domain.MEM, mine);
    runtime.setupDebugHooks();
    expect(runtime.getAllocator(Domain.MEM)).toBe(mine);
    expect((runtime.getAllocator(Domain.RAW) as DebugAllocator).api).toBe("r");
    expect((runtime.getAllocator(Domain.OBJ) as DebugAllocator).api).toBe("o");
    expect(runtime.allocatorName()).toBe("malloc_debug");

    // on a default runtime, with RAW hooked first (so pymalloc's RAW blocks carry hooks)
    const pyruntime = createRuntime();
    const raw = withDebugHooks(pyruntime.mallocHeap, { api: "r" });
    pyruntime.setAllocator(Domain.RAW, raw);
    const mem = withDebugHooks(pyruntime.pymallocHeap!, { api: "m" });
    pyruntime.setAllocator(Domain.MEM, mem);
    pyruntime.setupDebugHooks();
    expect(pyruntime.getAllocator(Domain.RAW)).toBe(raw);
    expect(pyruntime.getAllocator(Domain.MEM)).toBe(mem);
    const obj = pyruntime.getAllocator(Domain.OBJ) as DebugAllocator;
    expect(obj.api).toBe("o");
    expect(obj.wrapped).toBe(pyruntime.pymallocHeap);
    expect(pyruntime.allocatorName()).toBe("pymalloc_debug");
  });

  it.each([
    ["memMalloc(16)", (r: Runtime) => r.memMalloc(16), true],
    ["objMalloc(16)", (r: Runtime) => r.objMalloc(16), true],
    ["memMalloc(4000)", (r: Runtime) => r.memMalloc(4000), false],
  ])("after %s on a default runtime it throws ERR_TSMALLOC_INVALID_OPTION and changes nothing", (_, allocate, makesArena) => {
    const runtime = createRuntime();
    const p = allocate(runtime);
    expect(p).toBeGreaterThan(0);
    const before = allocators(runtime);
    const mallocStats = runtime.mallocHeap.stats();
    const bytes = snapshot(runtime.memory);
    const error = expectError(() => runtime.setupDebugHooks(), ErrorCode.InvalidOption);
    expect(error.message).toBe(
      "setupDebugHooks: pymalloc already holds blocks of the RAW domain made without debug hooks (its arenas vector or large blocks); " +
        'install the hooks before the first MEM or OBJ allocation, or create the runtime with allocator "pymalloc_debug"',
    );
    allocators(runtime).forEach((a, i) => expect(a).toBe(before[i]));
    expect(runtime.mallocHeap.stats()).toEqual(mallocStats);
    expectUnchanged(runtime.memory, bytes);
    expect(runtime.allocatorName()).toBe("pymalloc");
    runtime.memFree(p);
    if (makesArena) {
      // freeing the block does not help: the arenas vector stays
      expectError(() => runtime.setupDebugHooks(), ErrorCode.InvalidOption);
      expect(runtime.allocatorName()).toBe("pymalloc");
    } else {
      // pymalloc gave its only RAW block back: the hooks can go in now
      runtime.setupDebugHooks();
      expect(runtime.allocatorName()).toBe("pymalloc_debug");
      const q = runtime.memMalloc(4000);
      expect(String.fromCharCode(runtime.memory.u8[q - 8]!, runtime.memory.u8[q - 24]!)).toBe("mr");
      runtime.memFree(q);
      expectRuntimeOk(runtime);
    }
  });

  it("uses the runtime's debug options (serial numbers: 32 extra bytes)", () => {
    const configured = createRuntime({ allocator: "debug", debug: { serialNumbers: true } });
    const later = createRuntime({ debug: { serialNumbers: true } });
    later.setupDebugHooks();
    for (const runtime of [configured, later]) {
      for (const domain of DOMAINS) {
        const hooks = runtime.getAllocator(domain) as DebugAllocator;
        expect(hooks.serialNumbers).toBe(true);
        expect(hooks.extraBytes).toBe(32);
      }
      const p = runtime.memMalloc(16);
      const report = runtime.getAllocator(Domain.MEM) as DebugAllocator;
      expect(report.dump(p)).toMatch(/\n {4}The block was made by call #\d+ to debug malloc\/realloc\.\n/);
      runtime.memFree(p);
    }
    const plain = createRuntime({ allocator: "debug" });
    expect((plain.getAllocator(Domain.OBJ) as DebugAllocator).extraBytes).toBe(24);
  });

  it.each([
    [{ tracebacks: -1 }, "createRuntime: debug options: withDebugHooks: tracebacks must be an integer from 0 to 100, got -1"],
    [{ api: "m" }, "createRuntime: debug.api is each domain's own ('r', 'm', 'o'); do not pass one"],
    [{ serialNumbers: true, serialCounter: "new" }, "createRuntime: debug.serialCounter is the runtime's own (one counter for all its hooks); do not pass one"],
    [{ serialCounter: 64 }, "createRuntime: debug.serialCounter is the runtime's own (one counter for all its hooks); do not pass one"],
    [{ layout: "wasm32" }, 'createRuntime: debug.layout follows the runtime\'s platform; pass platform ("64-bit" or "wasm32") instead'],
    [{ serialNumbers: "yes" }, 'createRuntime: debug options: withDebugHooks: serialNumbers must be a boolean, got "yes"'],
    [{ onCorruption: "ignore" }, 'createRuntime: debug options: withDebugHooks: onCorruption must be "throw", "abort" or a function, got "ignore"'],
    [5, "createRuntime: debug must be an object, got 5"],
  ])("createRuntime with debug %j throws ERR_TSMALLOC_INVALID_OPTION before allocating", (debug, message) => {
    for (const allocator of ["default", "debug", "malloc_debug"]) {
      const memory = new LinearMemory();
      const before = memory.stats();
      const error = expectError(() => createRuntime({ memory, allocator, debug: debug as never }), ErrorCode.InvalidOption);
      expect(error.message).toBe(message);
      expect(memory.stats()).toEqual(before);
      expect(memory.getRoot("tsrt")).toBe(0);
    }
  });
});

// -------------------------------------------------------------------------------------------------

/** The serial number of the debug block of `n` bytes at `p` (8 big-endian bytes after the 8-byte trailer). */
function serialOf(runtime: Runtime, p: number, n: number): number {
  return Number(runtime.memory.dataView.getBigUint64(p + n + 8, false));
}

describe("serial numbers: one counter per runtime (CPython's one serialno)", () => {
  it.each(["debug", "malloc_debug", "pymalloc_debug"] as const)("%s: RAW, MEM and OBJ number their calls in one sequence", (config) => {
    const runtime = createRuntime({ allocator: config, debug: { serialNumbers: true } });
    const counters = DOMAINS.map((domain) => (runtime.getAllocator(domain) as DebugAllocator).serialCounter);
    expect(new Set(counters).size).toBe(1);
    expect(counters[0]).not.toBe(0);
    const blocks = [runtime.rawMalloc(5), runtime.memMalloc(5), runtime.objMalloc(5), runtime.memCalloc(1, 5), runtime.rawRealloc(0, 5), runtime.objMalloc(5)];
    const serials = blocks.map((p) => serialOf(runtime, p, 5));
    // one after another, whatever the domain (pymalloc's own RAW requests would take numbers too)
    expect(serials).toEqual(serials.map((_, i) => serials[0]! + i));
    const report = (runtime.getAllocator(Domain.OBJ) as DebugAllocator).dump(blocks[5]!);
    expect(report).toContain(`    The block was made by call #${serials[5]} to debug malloc/realloc.\n`);
    runtime.rawFree(blocks[0]!);
    runtime.memFree(blocks[1]!);
    runtime.objFree(blocks[2]!);
    runtime.memFree(blocks[3]!);
    runtime.rawFree(blocks[4]!);
    runtime.objFree(blocks[5]!);
    expectRuntimeOk(runtime);
  });

  it("pymalloc's own RAW requests take numbers from the same counter, as in CPython", () => {
    const runtime = createRuntime({ allocator: "pymalloc_debug", debug: { serialNumbers: true } });
    const first = serialOf(runtime, runtime.rawMalloc(1), 1);
    const big = runtime.memMalloc(1000); // above 512 bytes: an 'r' block inside the 'm' block
    // the 'r' block inside, whose data is the 'm' block's header, drew its number first
    expect(serialOf(runtime, big - 16, 1000 + 32)).toBe(first + 1);
    expect(serialOf(runtime, big, 1000)).toBe(first + 2);
  });

  it("setupDebugHooks makes one counter for the three domains, and records it for attachRuntime", () => {
    const runtime = createRuntime({ debug: { serialNumbers: true } });
    runtime.setupDebugHooks();
    const counters = DOMAINS.map((domain) => (runtime.getAllocator(domain) as DebugAllocator).serialCounter);
    expect(new Set(counters).size).toBe(1);
    const a = serialOf(runtime, runtime.objMalloc(3), 3);
    const attached = attachRuntime(runtime.memory, runtime.address);
    expect((attached.getAllocator(Domain.RAW) as DebugAllocator).serialCounter).toBe(counters[0]);
    expect(serialOf(attached, attached.rawMalloc(3), 3)).toBe(a + 1);
    expect(serialOf(runtime, runtime.memMalloc(3), 3)).toBe(a + 2);
  });

  it("two runtimes in one memory keep a sequence each, apart from hooks made by hand", () => {
    const memory = new LinearMemory();
    const one = createRuntime({ memory, allocator: "malloc_debug", debug: { serialNumbers: true } });
    const two = createRuntime({ memory, allocator: "malloc_debug", debug: { serialNumbers: true } });
    const byHand = withDebugHooks(one.mallocHeap, { serialNumbers: true });
    const counterOf = (runtime: Runtime): number => (runtime.getAllocator(Domain.RAW) as DebugAllocator).serialCounter;
    expect(new Set([counterOf(one), counterOf(two), byHand.serialCounter]).size).toBe(3);
    const x = serialOf(one, one.rawMalloc(2), 2);
    const y = serialOf(two, two.rawMalloc(2), 2);
    const z = serialOf(one, byHand.malloc(2), 2);
    expect([serialOf(one, one.objMalloc(2), 2), serialOf(two, two.memMalloc(2), 2), serialOf(one, byHand.malloc(2), 2)]).toEqual([x + 1, y + 1, z + 1]);
  });

  it("serial numbers off: the runtime's hooks use no counter", () => {
    const runtime = createRuntime({ allocator: "debug" });
    for (const domain of DOMAINS) expect((runtime.getAllocator(domain) as DebugAllocator).serialCounter).toBe(0);
    runtime.setupDebugHooks();
    const later = createRuntime();
    later.setupDebugHooks();
    for (const domain of DOMAINS) expect((later.getAllocator(domain) as DebugAllocator).serialCounter).toBe(0);
  });
});

// -------------------------------------------------------------------------------------------------

describe("platform: the 64-bit and wasm32 models (pymalloc's layout and the debug hooks' SST)", () => {
  it("64-bit is the default: pymalloc's default layout, hooks with 8-byte fields", () => {
    const runtime = createRuntime({ allocator: "pymalloc_debug" });
    expect(runtime.platform).toBe("64-bit");
    expect(runtime.pymallocHeap!.layout).toEqual(resolveLayout("default"));
    for (const domain of DOMAINS) expect((runtime.getAllocator(domain) as DebugAllocator).layout).toBe(DebugLayouts["64-bit"]);
    expect(PLATFORMS).toEqual(["64-bit", "wasm32"]);
    expect([isRuntimePlatform("wasm32"), isRuntimePlatform("wasm64"), isRuntimePlatform(undefined)]).toEqual([true, false, false]);
  });

  it.each(["debug", "pymalloc_debug", "malloc_debug"] as const)("%s on wasm32: every domain's hooks have 4-byte fields, pymalloc the wasm32 layout", (config) => {
    const runtime = createRuntime({ platform: "wasm32", allocator: config });
    expect(runtime.platform).toBe("wasm32");
    if (runtime.pymallocHeap !== null) expect(runtime.pymallocHeap.layout).toEqual(resolveLayout("wasm32"));
    for (const domain of DOMAINS) {
      const hooks = runtime.getAllocator(domain) as DebugAllocator;
      expect(hooks.layout).toBe(DebugLayouts.wasm32);
      expect(hooks.extraBytes).toBe(12);
      const api = entryPoints(runtime, domain);
      const p = api.malloc(20);
      expect(runtime.memory.dataView.getUint32(p - 8, false)).toBe(20);
      expect(runtime.memory.u8[p - 4]).toBe(hooks.api.charCodeAt(0));
      api.free(p);
    }
    expectRuntimeOk(runtime);
  });

  it("debug on wasm32: a large MEM block carries a 4-byte 'm' header around a 4-byte 'r' header (1000 + 12 bytes)", () => {
    const runtime = createRuntime({ platform: "wasm32", allocator: "debug" });
    const p = runtime.memMalloc(1000);
    const u8 = runtime.memory.u8;
    // 'r' block of 1012 bytes at p - 16, whose data is the 'm' block at p - 8
    expect([...u8.subarray(p - 16, p)]).toEqual([0, 0, 0x03, 0xf4, 0x72, 0xfd, 0xfd, 0xfd, 0, 0, 0x03, 0xe8, 0x6d, 0xfd, 0xfd, 0xfd]);
    runtime.memFree(p);
    expectRuntimeOk(runtime);
  });

  it("pymalloc: { layout: 'wasm32' } alone makes a wasm32 runtime, hooks included", () => {
    const runtime = createRuntime({ pymalloc: { layout: "wasm32" }, allocator: "pymalloc_debug", debug: { serialNumbers: true } });
    expect(runtime.platform).toBe("wasm32");
    const hooks = runtime.getAllocator(Domain.OBJ) as DebugAllocator;
    expect([hooks.layout.name, hooks.extraBytes]).toEqual(["wasm32", 16]);
  });

  it("a custom pymalloc layout on a wasm32 runtime starts from the wasm32 preset", () => {
    const runtime = createRuntime({ platform: "wasm32", pymalloc: { layout: { arenaSize: 1 << 20 } } });
    expect(runtime.pymallocHeap!.layout).toMatchObject({ alignment: 8, poolSize: 4096, arenaSize: 1 << 20, pointerSize: 4, poolOverhead: 32 });
  });

  it("sys._debugmallocstats() of a wasm32 runtime: 64 classes, 4 KiB pools, 256 KiB arenas, the 32-bit arena map root", () => {
    const runtime = createRuntime({ platform: "wasm32" });
    const blocks = [runtime.objMalloc(8), runtime.memMalloc(20), runtime.objMalloc(512)];
    expect(runtime.debugMallocStats()).toBe(
      [
        "Small block threshold = 512, in 64 size classes.",
        "",
        "class   size   num pools   blocks in use  avail blocks",
        "-----   ----   ---------   -------------  ------------",
        "    0      8           1               1           507",
        "    2     24           1               1           168",
        "   63    512           1               1             6",
        "",
        "# arenas allocated total           =                    1",
        "# arenas reclaimed                 =                    0",
        "# arenas highwater mark            =                    1",
        "# arenas allocated current         =                    1",
        "1 arenas * 262144 bytes/arena      =              262,144",
        "",
        "# bytes in allocated blocks        =                  544",
        "# bytes in available blocks        =               11,160",
        "61 unused pools * 4096 bytes       =              249,856",
        "# bytes lost to pool headers       =                   96",
        "# bytes lost to quantization       =                  488",
        "# bytes lost to arena alignment    =                    0",
        "Total                              =              262,144",
        "",
        "arena map counts",
        "# bytes lost to arena map root     =              131,072",
        "",
      ].join("\n"),
    );
    runtime.objFree(blocks[0]!);
    runtime.memFree(blocks[1]!);
    runtime.objFree(blocks[2]!);
  });

  it("attachRuntime keeps the platform, and setupDebugHooks there makes wasm32 hooks", () => {
    const runtime = createRuntime({ platform: "wasm32" });
    const attached = attachRuntime(runtime.memory, runtime.address);
    expect(attached.platform).toBe("wasm32");
    expect(attached.pymallocHeap!.layout.pointerSize).toBe(4);
    attached.setupDebugHooks();
    for (const domain of DOMAINS) expect((attached.getAllocator(domain) as DebugAllocator).layout.name).toBe("wasm32");
    const debugged = createRuntime({ platform: "wasm32", allocator: "debug" });
    for (const domain of DOMAINS) {
      expect((attachRuntime(debugged.memory, debugged.address).getAllocator(domain) as DebugAllocator).layout.name).toBe("wasm32");
    }
  });
});

// -------------------------------------------------------------------------------------------------

describe("createRuntime options", () => {
  it.each([
    [{ alocator: "malloc" }, 'createRuntime: unknown option "alocator"'],
    [{ stats: 1 }, "createRuntime: stats must be a boolean, got 1"],
    [{ stats: "yes" }, 'createRuntime: stats must be a boolean, got "yes"'],
    [{ statsOutput: "stderr" }, 'createRuntime: statsOutput must be a function, got "stderr"'],
    [{ memory: {} }, "createRuntime: memory must be a LinearMemory, got an object ([object Object])"],
    [{ memory: new ArrayBuffer(65536) }, "createRuntime: memory must be a LinearMemory, got an object ([object ArrayBuffer])"],
    [{ pymalloc: 5 }, "createRuntime: pymalloc must be an object, got 5"],
    [{ pymalloc: { layout: "python39" } }, 'createRuntime: pymalloc options: Pymalloc: layout must be one of default, python38, align8, wasm32, got "python39"'],
    [{ platform: "32-bit" }, 'createRuntime: platform must be "64-bit" or "wasm32", got "32-bit"'],
    [{ platform: 32 }, 'createRuntime: platform must be "64-bit" or "wasm32", got 32'],
    [{ platform: "wasm32", pymalloc: { layout: "default" } }, 'createRuntime: pymalloc.layout "default" is a 64-bit layout (pointer size 8), but platform is "wasm32"'],
    [{ platform: "64-bit", pymalloc: { layout: "wasm32" } }, 'createRuntime: pymalloc.layout "wasm32" is a wasm32 layout (pointer size 4), but platform is "64-bit"'],
    [{ platform: "wasm32", pymalloc: { layout: { pointerSize: 8 } } }, 'createRuntime: pymalloc.layout (a custom layout) is a 64-bit layout (pointer size 8), but platform is "wasm32"'],
    [{ pymalloc: { layout: { pointerSize: 2 } } }, "createRuntime: pymalloc options: Pymalloc: layout.pointerSize must be 8 (64-bit) or 4 (32-bit, wasm32), got 2"],
    [{ pymalloc: { layout: { poolSize: 3 } } }, "createRuntime: pymalloc options: Pymalloc: layout.poolSize must be a power of two of at least 4096, got 3"],
    [{ pymalloc: { checks: 1 } }, "createRuntime: pymalloc.checks must be a boolean, got 1"],
    [{ pymalloc: { arenaAllocator: { alloc: () => 0 } } }, "createRuntime: pymalloc.arenaAllocator must have alloc(size) and free(address, size), got an object ([object Object])"],
    [{ pymalloc: { register: false } }, 'createRuntime: unknown pymalloc option "register" (expected layout, checks, arenaAllocator)'],
    [{ pymalloc: { onNewArena: () => {} } }, 'createRuntime: unknown pymalloc option "onNewArena" (expected layout, checks, arenaAllocator)'],
  ])("%j throws ERR_TSMALLOC_INVALID_OPTION before anything is allocated in the memory", (options, message) => {
    const memory = new LinearMemory();
    const before = memory.stats();
    const error = expectError(() => createRuntime({ memory, ...(options as object) } as never), ErrorCode.InvalidOption);
    expect(error.message).toBe(message);
    // no malloc heap, no runtime record, no region mapped
    expect(memory.getRoot("mllc")).toBe(0);
    expect(memory.getRoot("tsrt")).toBe(0);
    expect(memory.stats()).toEqual(before);
  });

  it.each([
    [5, "5"],
    ["default", '"default"'],
    [null, "null"],
  ])("options %j (not an object) throw ERR_TSMALLOC_INVALID_OPTION", (options, shown) => {
    const error = expectError(() => createRuntime(options as never), ErrorCode.InvalidOption);
    expect(error.message).toBe(`createRuntime: options must be an object, got ${shown}`);
  });

  it("malloc options that are not an object are refused like pymalloc's", () => {
    // createRuntime({ pymalloc: 5 }) throws; { malloc: 5 } must too, not be silently ignored
    const error = thrown(() => createRuntime({ malloc: 5 as never }));
    expect(error instanceof TsmallocError ? error.code : String(error)).toBe(ErrorCode.InvalidOption);
  });

  it("pymalloc options reach pymalloc", () => {
    const runtime = createRuntime({ pymalloc: { layout: "python38" } });
    expect(runtime.pymallocHeap!.layout.poolSize).toBe(4096);
    expect(runtime.pymallocHeap!.layout.arenaSize).toBe(256 << 10);
    const p = runtime.objMalloc(8);
    expect(p & 4095).toBe(48); // the first block after a 4 KiB pool's header
    runtime.objFree(p);
    expect(createRuntime().pymallocHeap!.layout.poolSize).toBe(16384);
  });

  it("malloc options reach the system malloc", () => {
    const runtime = createRuntime({ allocator: "malloc", malloc: { mmapThreshold: 4096 } });
    const p = runtime.rawMalloc(8192);
    expect(runtime.mallocHeap.stats().largeBlocks).toBe(1);
    runtime.rawFree(p);
  });

  it("a runtime over a given memory allocates there", () => {
    for (const config of CONFIGS) {
      const memory = new LinearMemory();
      const runtime = createRuntime({ memory, allocator: config });
      expect(runtime.memory).toBe(memory);
      const blocks = DOMAINS.map((d) => entryPoints(runtime, d).malloc(64));
      for (const p of blocks) {
        expect(p).toBeGreaterThan(0);
        expect(p + 64).toBeLessThanOrEqual(memory.byteLength);
      }
      expect(memory.getRoot("tsrt")).toBe(runtime.address);
      for (const domain of DOMAINS) expect(runtime.getAllocator(domain).memory).toBe(memory);
    }
  });

  it("two runtimes in one memory are independent; the first is the one recorded", () => {
    const memory = new LinearMemory();
    const first = createRuntime({ memory });
    const second = createRuntime({ memory, allocator: "malloc_debug" });
    expect(memory.getRoot("tsrt")).toBe(first.address);
    expect(second.address).not.toBe(first.address);
    expect(second.mallocHeap).not.toBe(first.mallocHeap);
    const a = first.objMalloc(100);
    const b = second.objMalloc(100);
    fill(memory, a, 100, 0x11);
    fill(memory, b, 100, 0x22);
    expect(first.pymallocHeap!.owns(a)).toBe(true);
    expect(second.mallocHeap.owns(b)).toBe(true);
    expect(first.mallocHeap.owns(b - 16)).toBe(false);
    expectFilled(memory, a, 100, 0x11);
    expectFilled(memory, b, 100, 0x22);
    expect(first.allocatorName()).toBe("pymalloc");
    expect(second.allocatorName()).toBe("malloc_debug");
    // a block of one runtime is not the other's
    expectError(() => second.mallocHeap.free(a), ErrorCode.InvalidPointer);
    first.objFree(a);
    second.objFree(b);
    expectRuntimeOk(first);
    expectRuntimeOk(second);
  });

  it("a Runtime can be made with new, like createRuntime", () => {
    const runtime = new Runtime({ allocator: "malloc" });
    expect(runtime).toBeInstanceOf(Runtime);
    expect(runtime.allocatorName()).toBe("malloc");
    expect(createRuntime()).toBeInstanceOf(Runtime);
  });
});

// -------------------------------------------------------------------------------------------------

describe("the arena allocator (PyObject_GetArenaAllocator / PyObject_SetArenaAllocator)", () => {
  function counting(previous: ArenaAllocator, log: string[]): ArenaAllocator {
    return {
      alloc(size: number): number {
        const address = previous.alloc(size);
        log.push(`alloc ${size} -> ${address}`);
        return address;
      },
      free(address: number, size: number): void {
        log.push(`free ${address} ${size}`);
        previous.free(address, size);
      },
    };
  }

  it("default: pymalloc's; a wrapper sees each arena made and released", () => {
    const runtime = createRuntime();
    const previous = runtime.getArenaAllocator();
    expect(previous).toBe(runtime.pymallocHeap!.getArenaAllocator());
    const log: string[] = [];
    const wrapper = counting(previous, log);
    runtime.setArenaAllocator(wrapper);
    expect(runtime.getArenaAllocator()).toBe(wrapper);
    const blocks: number[] = [];
    // a 1 MiB arena holds 64 pools of 31 blocks of 512 bytes
    for (let i = 0; i < 1984; i++) blocks.push(runtime.objMalloc(512));
    expect(log).toHaveLength(1);
    blocks.push(runtime.objMalloc(512));
    expect(log).toHaveLength(2);
    const arenas = log.map((line) => /^alloc 1048576 -> (\d+)$/.exec(line)?.[1]);
    // aligned to the pool size (issue 15: no longer to the arena size)
    expect(arenas.every((a) => a !== undefined && Number(a) % (16 << 10) === 0)).toBe(true);
    for (const p of blocks) runtime.objFree(p);
    // one empty arena is kept for reuse, the other goes back (CPython 3.9+)
    expect(log).toHaveLength(3);
    expect([`free ${arenas[0]} 1048576`, `free ${arenas[1]} 1048576`]).toContain(log[2]);
    expect(runtime.pymallocHeap!.stats().arenasAllocatedCurrent).toBe(1);
    runtime.setArenaAllocator(previous);
    expectRuntimeOk(runtime);
  });

  it.each(["default", "malloc"] as const)("%s: a value without alloc and free is refused, changing nothing", (config) => {
    const runtime = createRuntime({ allocator: config });
    const before = runtime.getArenaAllocator();
    for (const value of [{}, null, { alloc: () => 0 }, { free: () => {} }, 5]) {
      const error = expectError(() => runtime.setArenaAllocator(value as never), ErrorCode.InvalidOption);
      expect(error.message).toMatch(config === "default" ? /^Pymalloc: an arena allocator needs alloc\(size\) and free\(address, size\), got / : /^setArenaAllocator: the arena allocator must have alloc\(size\) and free\(address, size\), got /);
      expect(runtime.getArenaAllocator()).toBe(before);
    }
  });

  it("malloc: the setting is kept and has no effect", () => {
    const runtime = createRuntime({ allocator: "malloc" });
    const initial = runtime.getArenaAllocator();
    expect(typeof initial.alloc).toBe("function");
    expect(typeof initial.free).toBe("function");
    expect(runtime.getArenaAllocator()).toBe(initial);
    const log: string[] = [];
    const wrapper = counting(initial, log);
    runtime.setArenaAllocator(wrapper);
    expect(runtime.getArenaAllocator()).toBe(wrapper);
    const blocks = Array.from({ length: 3000 }, () => runtime.objMalloc(512));
    for (const p of blocks) runtime.objFree(p);
    expect(log).toEqual([]);
    runtime.setArenaAllocator(initial);
    expect(runtime.getArenaAllocator()).toBe(initial);
  });

  it("malloc: the pymalloc.arenaAllocator option is what getArenaAllocator returns", () => {
    const mine: ArenaAllocator = { alloc: () => 0, free: () => {} };
    const runtime = createRuntime({ allocator: "malloc", pymalloc: { arenaAllocator: mine } });
    expect(runtime.getArenaAllocator()).toBe(mine);
  });

  it("default: the pymalloc.arenaAllocator option is pymalloc's", () => {
    const memory = new LinearMemory();
    const log: string[] = [];
    const mine: ArenaAllocator = {
      alloc: (size) => {
        log.push(`alloc ${size}`);
        return memory.map(size, { alignment: size });
      },
      free: (address) => {
        memory.unmap(address);
      },
    };
    const runtime = createRuntime({ memory, pymalloc: { arenaAllocator: mine } });
    expect(runtime.getArenaAllocator()).toBe(mine);
    runtime.objFree(runtime.objMalloc(16));
    expect(log).toEqual(["alloc 1048576"]);
  });
});

// -------------------------------------------------------------------------------------------------

describe("statistics printing (TSMALLOCSTATS, CPython's PYTHONMALLOCSTATS)", () => {
  const EMPTY_TABLE =
    "Small block threshold = 512, in 32 size classes.\n\n" +
    "class   size   num pools   blocks in use  avail blocks\n" +
    "-----   ----   ---------   -------------  ------------\n\n" +
    "# arenas allocated total           =                    0\n" +
    "# arenas reclaimed                 =                    0\n" +
    "# arenas highwater mark            =                    0\n" +
    "# arenas allocated current         =                    0\n" +
    "0 arenas * 1048576 bytes/arena     =                    0\n\n" +
    "# bytes in allocated blocks        =                    0\n" +
    "# bytes in available blocks        =                    0\n" +
    "0 unused pools * 16384 bytes       =                    0\n" +
    "# bytes lost to pool headers       =                    0\n" +
    "# bytes lost to quantization       =                    0\n" +
    "# bytes lost to arena alignment    =                    0\n" +
    "Total                              =                    0\n\n" +
    "arena map counts\n" +
    "# bytes lost to arena map root     =               32,768\n";

  it("default: a table each time a new arena is made and one at close, then nothing", () => {
    const out: string[] = [];
    const expected: string[] = [];
    let runtime: Runtime | undefined;
    runtime = createRuntime({
      stats: true,
      statsOutput: (text) => {
        out.push(text);
        expected.push(runtime!.pymallocHeap!.formatStats());
      },
    });
    expect(runtime.printsStats).toBe(true);
    expect(out).toEqual([]);
    runtime.rawFree(runtime.rawMalloc(100)); // RAW is not pymalloc
    expect(out).toEqual([]);
    const blocks = [runtime.objMalloc(512)];
    expect(out).toEqual([EMPTY_TABLE]);
    for (let i = 1; i < 1984; i++) blocks.push(runtime.objMalloc(512));
    expect(out).toHaveLength(1);
    blocks.push(runtime.objMalloc(512)); // 2nd arena
    expect(out).toHaveLength(2);
    expect(out[1]).toContain("# arenas allocated current         =                    1\n");
    expect(out[1]).toContain("   31    512          64            1984             0\n");
    for (let i = 0; i < 1983; i++) blocks.push(runtime.objMalloc(512));
    expect(out).toHaveLength(2);
    blocks.push(runtime.objMalloc(512)); // 3rd arena
    expect(out).toHaveLength(3);
    expect(out[2]).toContain("# arenas allocated current         =                    2\n");
    expect(out).toEqual(expected);
    runtime.close();
    expect(out).toHaveLength(4);
    expect(out[3]).toBe(runtime.pymallocHeap!.formatStats());
    expect(out[3]).toContain("# arenas allocated current         =                    3\n");
    expect(runtime.printsStats).toBe(false);
    runtime.close();
    expect(out).toHaveLength(4);
    // the runtime still works, but new arenas print nothing
    for (let i = 0; i < 2000; i++) blocks.push(runtime.objMalloc(512));
    expect(runtime.pymallocHeap!.stats().arenasAllocatedCurrent).toBe(4);
    expect(out).toHaveLength(4);
    for (const p of blocks) runtime.objFree(p);
    expectRuntimeOk(runtime);
  });

  it("stats: false (the default) prints nothing", () => {
    for (const options of [{ stats: false }, {}]) {
      const out: string[] = [];
      const runtime = createRuntime({ ...options, statsOutput: (text) => out.push(text) });
      expect(runtime.printsStats).toBe(false);
      runtime.objFree(runtime.objMalloc(16));
      runtime.close();
      expect(out).toEqual([]);
    }
  });

  it.each(["malloc", "malloc_debug"] as const)("%s: stats are ignored (no pymalloc), even at close", (config) => {
    const out: string[] = [];
    const runtime = createRuntime({ allocator: config, stats: true, statsOutput: (text) => out.push(text) });
    expect(runtime.printsStats).toBe(false);
    runtime.objFree(runtime.objMalloc(16));
    runtime.close();
    expect(out).toEqual([]);
  });

  it("debug: the hooks' first pymalloc block makes the first arena, so the first table comes at creation", () => {
    const out: string[] = [];
    const runtime = createRuntime({ allocator: "debug", stats: true, statsOutput: (text) => out.push(text) });
    expect(out).toEqual([EMPTY_TABLE]);
    runtime.close();
    expect(out).toHaveLength(2);
  });

  it("createRuntimeFromEnv: a non-empty TSMALLOCSTATS turns printing on", () => {
    for (const [value, on] of [
      ["1", true],
      ["0", true],
      ["yes", true],
      ["", false],
      [undefined, false],
    ] as const) {
      const out: string[] = [];
      const env = value === undefined ? {} : { TSMALLOCSTATS: value };
      const runtime = createRuntimeFromEnv(env, { statsOutput: (text) => out.push(text) });
      expect(runtime.printsStats, `TSMALLOCSTATS=${String(value)}`).toBe(on);
      runtime.objFree(runtime.objMalloc(16));
      expect(out.length).toBe(on ? 1 : 0);
      runtime.close();
      expect(out.length).toBe(on ? 2 : 0);
    }
  });
});

// -------------------------------------------------------------------------------------------------

describe("createRuntimeFromEnv", () => {
  it("TSMALLOC chooses the configuration; unset or empty is default", () => {
    expect(createRuntimeFromEnv({ TSMALLOC: "malloc_debug" }).allocatorName()).toBe("malloc_debug");
    expect(createRuntimeFromEnv({ TSMALLOC: "pymalloc" }).config).toBe("pymalloc");
    for (const env of [{}, { TSMALLOC: "" }, { TSMALLOC: undefined }, { OTHER: "malloc" }]) {
      const runtime = createRuntimeFromEnv(env);
      expect(runtime.config).toBe("default");
      expect(runtime.allocatorName()).toBe("pymalloc");
      expect(runtime.printsStats).toBe(false);
    }
  });

  it("passes the other options on", () => {
    const memory = new LinearMemory();
    const runtime = createRuntimeFromEnv({ TSMALLOC: "malloc" }, { memory, malloc: { mmapThreshold: 4096 } });
    expect(runtime.memory).toBe(memory);
    expect(memory.getRoot("tsrt")).toBe(runtime.address);
    runtime.rawFree(runtime.rawMalloc(5000));
    expect(runtime.mallocHeap.stats().largeBlocks).toBe(0);
    expectError(() => createRuntimeFromEnv({}, { bogus: 1 } as never), ErrorCode.InvalidOption);
  });

  it("without an argument it reads process.env", () => {
    const runtime = createRuntimeFromEnv();
    expect(runtime.config).toBe(parseAllocatorConfig(process.env["TSMALLOC"]));
  });
});

// -------------------------------------------------------------------------------------------------

describe("the default runtime and the package's functions", () => {
  it("defaultRuntime() is one runtime, made from process.env, which the functions use", () => {
    const runtime = defaultRuntime();
    expect(defaultRuntime()).toBe(runtime);
    expect(runtime.config).toBe(parseAllocatorConfig(process.env["TSMALLOC"]));
    expect(getAllocator(Domain.OBJ)).toBe(runtime.getAllocator(Domain.OBJ));
    expect(allocatorName()).toBe(runtime.allocatorName());
    const p = memMalloc(40);
    expect(p).toBeGreaterThan(0);
    runtime.memFree(p);
    const q = runtime.objMalloc(40);
    objFree(q);
    expectRuntimeOk(runtime);
  });

  it("setDefaultRuntime(rt) returns the previous one and makes every function use rt", () => {
    const original = defaultRuntime();
    const rt = createRuntime({ allocator: "malloc" });
    expect(setDefaultRuntime(rt)).toBe(original);
    try {
      expect(defaultRuntime()).toBe(rt);
      const hooks = DOMAINS.map((d) => new RecordingHook(rt.getAllocator(d)));
      DOMAINS.forEach((d, i) => setAllocator(d, hooks[i]!));
      DOMAINS.forEach((d, i) => expect(rt.getAllocator(d)).toBe(hooks[i]));
      expect(getAllocator(Domain.MEM)).toBe(hooks[1]);
      expect(allocatorName()).toBeNull();
      const [raw, mem, obj] = hooks as [RecordingHook, RecordingHook, RecordingHook];

      const r1 = rawMalloc(10);
      const r2 = rawCalloc(2, 3);
      const r3 = rawRealloc(r1, 20);
      rawFree(r3);
      rawFree(r2);
      expect(raw.calls.map((c) => c.op)).toEqual(["malloc", "calloc", "realloc", "free", "free"]);
      const m1 = memMalloc(10);
      const m2 = memCalloc(2, 3);
      const m3 = memRealloc(m1, 20);
      memFree(m3);
      memFree(m2);
      expect(mem.calls.map((c) => c.op)).toEqual(["malloc", "calloc", "realloc", "free", "free"]);
      const o1 = objMalloc(10);
      const o2 = objCalloc(2, 3);
      const o3 = objRealloc(o1, 20);
      objFree(o3);
      objFree(o2);
      expect(obj.calls.map((c) => c.op)).toEqual(["malloc", "calloc", "realloc", "free", "free"]);
      // the size rules hold there too
      expect(memMalloc(2 ** 31)).toBe(0);
      expect(objCalloc(2 ** 16, 2 ** 15)).toBe(0);
      expect(mem.calls).toHaveLength(5);
      expect(obj.calls).toHaveLength(5);

      setNoMemory(1);
      const s = rawMalloc(8);
      expect(s).toBeGreaterThan(0);
      expect(memMalloc(8)).toBe(0);
      removeMemHooks();
      DOMAINS.forEach((d, i) => expect(rt.getAllocator(d)).toBe(hooks[i]));
      rawFree(s);

      DOMAINS.forEach((d) => setAllocator(d, rt.mallocHeap));
      expect(allocatorName()).toBe("malloc");
      setupDebugHooks();
      expect(rt.allocatorName()).toBe("malloc_debug");
      expect(debugMallocStats()).toBe("");
      const arenas: ArenaAllocator = { alloc: () => 0, free: () => {} };
      setArenaAllocator(arenas);
      expect(getArenaAllocator()).toBe(arenas);
      expect(rt.getArenaAllocator()).toBe(arenas);
      expectRuntimeOk(rt);
    } finally {
      expect(setDefaultRuntime(original)).toBe(rt);
    }
    expect(defaultRuntime()).toBe(original);
  });

  it("debugMallocStats() of the default runtime is its table", () => {
    const original = defaultRuntime();
    const rt = createRuntime({ allocator: "pymalloc" });
    expect(setDefaultRuntime(rt)).toBe(original);
    try {
      const p = objMalloc(24);
      expect(debugMallocStats()).toBe(rt.pymallocHeap!.formatStats());
      expect(debugMallocStats()).toContain("    1     32           1               1           509\n");
      objFree(p);
    } finally {
      setDefaultRuntime(original);
    }
  });

  it("setDefaultRuntime refuses what is not a Runtime, keeping the current one", () => {
    const current = defaultRuntime();
    for (const [value, shown] of [
      [{}, "an object ([object Object])"],
      [null, "null"],
      [undefined, "undefined"],
      [5, "5"],
    ] as const) {
      const error = expectError(() => setDefaultRuntime(value as unknown as Runtime), ErrorCode.InvalidOption);
      expect(error.message).toBe(`setDefaultRuntime: expected a Runtime (from createRuntime), got ${shown}`);
      expect(defaultRuntime()).toBe(current);
    }
  });
});

// -------------------------------------------------------------------------------------------------

describe("check()", () => {
  it.each(CONFIGS)("%s: ok on a fresh runtime and after use", (config) => {
    const runtime = createRuntime({ allocator: config });
    expectRuntimeOk(runtime);
    const blocks = [runtime.rawMalloc(100), runtime.memMalloc(1000), runtime.objMalloc(24)];
    expectRuntimeOk(runtime);
    runtime.rawFree(blocks[0]!);
    runtime.memFree(blocks[1]!);
    runtime.objFree(blocks[2]!);
    expectRuntimeOk(runtime);
  });

  it("a damaged pymalloc pool header is reported, prefixed with pymalloc:", () => {
    const runtime = createRuntime();
    const p = runtime.objMalloc(32);
    const pool = p & ~(runtime.pymallocHeap!.layout.poolSize - 1);
    const u32 = runtime.memory.u32;
    const saved = u32[pool >>> 2]!; // ref.count: the pool's allocated blocks
    expect(saved).toBe(1);
    u32[pool >>> 2] = 12345;
    const result = runtime.check();
    expect(result.ok).toBe(false);
    expect(result.problems.length).toBeGreaterThan(0);
    for (const problem of result.problems) expect(problem.message.startsWith("pymalloc: ")).toBe(true);
    expect(result.problems[0]).toEqual({ address: pool, message: `pymalloc: pool ${formatAddress(pool)} counts 12345 allocated blocks but only 2 were carved` });
    u32[pool >>> 2] = saved;
    expectRuntimeOk(runtime);
    runtime.objFree(p);
  });

  it("a damaged malloc boundary tag is reported, prefixed with malloc:", () => {
    const runtime = createRuntime({ allocator: "malloc" });
    const p = runtime.rawMalloc(32);
    const word = (p - 8) >>> 2;
    const u32 = runtime.memory.u32;
    const saved = u32[word]!;
    u32[word] = 0xdeadbeef;
    const result = runtime.check();
    expect(result.ok).toBe(false);
    expect(result.problems.length).toBeGreaterThan(0);
    for (const problem of result.problems) expect(problem.message.startsWith("malloc: ")).toBe(true);
    u32[word] = saved;
    expectRuntimeOk(runtime);
    runtime.rawFree(p);
  });

  it("checks the runtime's own heaps whatever the domains hold", () => {
    const runtime = createRuntime();
    runtime.setNoMemory(0);
    expectRuntimeOk(runtime);
    runtime.removeMemHooks();
    runtime.setAllocator(Domain.OBJ, new RecordingHook(runtime.mallocHeap));
    const p = runtime.objMalloc(24);
    const pool = runtime.pymallocHeap!;
    expect(pool.owns(p)).toBe(false);
    expectRuntimeOk(runtime);
    runtime.objFree(p);
  });
});
