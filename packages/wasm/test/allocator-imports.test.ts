/*
 * allocatorImports() called as a module calls it: every argument an i32 (what JavaScript
 * receives from wasm32 is signed), every result read back as the module reads it. Unit tests for
 * each rule, then a property test of random sequences against testkit's model.
 */
import { DebugCorruptionError } from "@tsmalloc/debug";
import { ErrorCode, LinearMemory } from "@tsmalloc/memory";
import { type AllocatorConfig, createRuntime, Domain, type Runtime } from "@tsmalloc/registry";
import { AllocatorModel } from "@tsmalloc/testkit";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ALLOCATOR_IMPORT_MODULE, ALLOCATOR_IMPORT_NAMES, type AllocatorImports, allocatorImports } from "../src/index.ts";
import { CountingHook } from "../tools/counting.ts";

/** As wasm32 hands a size_t or pointer to JavaScript: the same 32 bits, signed. */
const i32 = (value: number): number => value | 0;
/** As the module stores a returned pointer: the same 32 bits. */
const asPointer = (value: number): number => value >>> 0;

function setUp(allocator: AllocatorConfig = "default", domain: Domain = Domain.MEM): { runtime: Runtime; imports: AllocatorImports } {
  const runtime = createRuntime({ allocator, memory: new LinearMemory({ base: 2 * 65536 }) });
  return { runtime, imports: allocatorImports(runtime, domain) };
}

describe("allocatorImports", () => {
  it("provides every function the shim imports, under the names it imports them by", () => {
    const { imports } = setUp();
    expect(ALLOCATOR_IMPORT_MODULE).toBe("tsmalloc");
    expect(Object.keys(imports).sort()).toEqual([...ALLOCATOR_IMPORT_NAMES].sort());
    for (const name of ALLOCATOR_IMPORT_NAMES) expect(typeof imports[name as keyof AllocatorImports]).toBe("function");
    // the arity the shim declares, so that V8 calls them without an adaptor
    expect(imports.malloc.length).toBe(1);
    expect(imports.calloc.length).toBe(2);
    expect(imports.realloc.length).toBe(2);
    expect(imports.free.length).toBe(1);
    expect(imports.aligned_alloc.length).toBe(2);
  });

  it("refuses a runtime or a domain that is not one", () => {
    expect(() => allocatorImports({} as Runtime)).toThrow(expect.objectContaining({ code: ErrorCode.InvalidOption }));
    expect(() => allocatorImports(setUp().runtime, "heap" as Domain)).toThrow(/domain must be "raw", "mem" or "obj"/);
  });

  it("reads sizes of 2^31 and more, which arrive negative, as the unsigned sizes they are: too large, NULL", () => {
    const { runtime, imports } = setUp("malloc");
    const before = runtime.mallocHeap.stats().allocatedBlocks;
    expect(imports.malloc(i32(0x8000_0000))).toBe(0);
    expect(imports.malloc(i32(0xc000_0000))).toBe(0);
    expect(imports.malloc(-1)).toBe(0); // SIZE_MAX
    expect(imports.calloc(i32(0x1_0000), i32(0x1_0001))).toBe(0); // the product needs 33 bits
    expect(imports.calloc(-1, 1)).toBe(0);
    expect(imports.raw_malloc(-1)).toBe(0);
    expect(imports.obj_calloc(1, -1)).toBe(0);
    expect(imports.aligned_alloc(16, -1)).toBe(0);
    expect(imports.aligned_alloc(i32(0x8000_0000), 16)).toBe(0);
    const p = imports.malloc(100);
    expect(imports.realloc(p, -16)).toBe(0); // 4 GiB - 16: refused, the block intact
    expect(imports.usable_size(p)).toBeGreaterThanOrEqual(100);
    imports.free(p);
    expect(runtime.mallocHeap.stats().allocatedBlocks).toBe(before);
    expect(runtime.check().ok).toBe(true);
  });

  it("reads a pointer the module passes back the same, whatever its sign", () => {
    // a pointer at or above 2 GiB arrives negative; i32(p) for a small one is p itself
    const { imports } = setUp("malloc");
    const p = imports.malloc(40);
    expect(imports.realloc(i32(p), 80)).toBeGreaterThan(0);
    const freed: number[] = [];
    const runtime = createRuntime({ allocator: "malloc" });
    const spy = new CountingHook(runtime.getAllocator(Domain.MEM));
    spy.free = (ptr: number): void => void freed.push(ptr);
    runtime.setAllocator(Domain.MEM, spy);
    allocatorImports(runtime).free(i32(0xc000_0010));
    expect(freed).toEqual([0xc000_0010]);
  });

  it("gives a distinct non-NULL block for malloc(0) and calloc(0, n), as CPython does", () => {
    const { imports } = setUp();
    const a = imports.malloc(0);
    const b = imports.malloc(0);
    const c = imports.calloc(0, 8);
    expect(new Set([a, b, c]).size).toBe(3);
    expect([a, b, c].every((p) => p !== 0)).toBe(true);
  });

  it("sends each family to its domain, the C functions to the one chosen", () => {
    const runtime = createRuntime({ allocator: "pymalloc_debug" });
    const hooks = {} as Record<Domain, CountingHook>;
    for (const d of [Domain.RAW, Domain.MEM, Domain.OBJ]) {
      hooks[d] = new CountingHook(runtime.getAllocator(d));
      runtime.setAllocator(d, hooks[d]);
    }
    const imports = allocatorImports(runtime, Domain.OBJ);
    imports.free(imports.malloc(8));
    imports.free(imports.calloc(2, 4));
    imports.free(imports.realloc(0, 8));
    imports.free(imports.aligned_alloc(8, 8));
    expect([hooks.raw.calls, hooks.mem.calls, hooks.obj.calls]).toEqual([0, 0, 8]);
    imports.raw_free(imports.raw_realloc(imports.raw_calloc(1, 8), 16));
    imports.raw_free(imports.raw_malloc(8));
    imports.mem_free(imports.mem_realloc(imports.mem_calloc(1, 8), 16));
    imports.mem_free(imports.mem_malloc(8));
    imports.obj_free(imports.obj_realloc(imports.obj_calloc(1, 8), 16));
    imports.obj_free(imports.obj_malloc(8));
    expect([hooks.raw.calls, hooks.mem.calls, hooks.obj.calls]).toEqual([5, 5, 13]);
  });

  it("passes the allocator's errors through: a free of what is not a live block, the debug hooks' report", () => {
    const { imports } = setUp("default");
    const p = imports.malloc(24);
    imports.free(p);
    expect(() => imports.free(p)).toThrow(expect.objectContaining({ code: ErrorCode.DoubleFree }));
    const debug = setUp("pymalloc_debug");
    const q = debug.imports.malloc(10);
    debug.runtime.memory.u8[q + 10] = 0;
    let error: unknown;
    try {
      debug.imports.free(q);
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(DebugCorruptionError);
    expect((error as DebugCorruptionError).report).toContain("at tail+0: 0x00 *** OUCH");
  });

  it("refuses alignments that are not powers of two, and serves those up to 16 with a plain block", () => {
    const { runtime, imports } = setUp("malloc");
    for (const alignment of [0, 3, 12, 48, -1]) expect(imports.aligned_alloc(alignment, 8)).toBe(0);
    const before = runtime.mallocHeap.stats().allocatedBlocks;
    for (const alignment of [1, 2, 4, 8, 16]) {
      const p = imports.aligned_alloc(alignment, 20);
      expect(p % alignment).toBe(0);
      expect(imports.usable_size(p)).toBeGreaterThanOrEqual(20);
      imports.free(p);
    }
    expect(runtime.mallocHeap.stats().allocatedBlocks).toBe(before);
  });

  it("over-aligns within a larger block: free, realloc and usable_size find the block behind the address", () => {
    const { runtime, imports } = setUp("pymalloc_debug");
    const u8 = (): Uint8Array => runtime.memory.u8;
    imports.free(imports.malloc(8)); // pymalloc's first arena, made once
    const blocks = (): number => runtime.mallocHeap.stats().allocatedBlocks + runtime.pymallocHeap!.allocatedBlocks();
    const before = blocks();
    for (const alignment of [32, 64, 4096, 65536, 1 << 20]) {
      const p = imports.aligned_alloc(alignment, 100);
      expect(p).not.toBe(0);
      expect(p % alignment).toBe(0);
      expect(imports.usable_size(p)).toBeGreaterThanOrEqual(100);
      u8().fill(0x5a, p, p + 100);
      const q = imports.realloc(p, 300);
      expect(q).not.toBe(0);
      expect(u8().subarray(q, q + 100).every((b) => b === 0x5a)).toBe(true);
      imports.free(q);
      const r = imports.aligned_alloc(alignment, 10);
      imports.free(r); // freeing an over-aligned address gives back the whole block
    }
    expect(runtime.check().ok).toBe(true);
    expect(blocks()).toBe(before);
  });

  it("keeps an over-aligned block intact when its realloc finds no memory", () => {
    const runtime = createRuntime({ allocator: "malloc", memory: new LinearMemory({ maximum: 4 << 20 }) });
    const imports = allocatorImports(runtime);
    const p = imports.aligned_alloc(256, 64);
    runtime.memory.u8.fill(7, p, p + 64);
    expect(imports.realloc(p, 8 << 20)).toBe(0);
    expect(runtime.memory.u8.subarray(p, p + 64).every((b) => b === 7)).toBe(true);
    imports.free(p);
    expect(runtime.mallocHeap.stats().allocatedBlocks).toBe(1); // the runtime's record
  });
});

type Op =
  | { readonly op: "malloc"; readonly size: number }
  | { readonly op: "calloc"; readonly nelem: number; readonly elsize: number }
  | { readonly op: "aligned"; readonly shift: number; readonly size: number }
  | { readonly op: "realloc"; readonly pick: number; readonly size: number }
  | { readonly op: "free"; readonly pick: number };

const size = fc.oneof(fc.integer({ min: 0, max: 600 }), fc.integer({ min: 0, max: 20_000 }));
const ops: fc.Arbitrary<Op[]> = fc.array(
  fc.oneof(
    { weight: 30, arbitrary: fc.record({ op: fc.constant("malloc" as const), size }) },
    { weight: 8, arbitrary: fc.record({ op: fc.constant("calloc" as const), nelem: fc.integer({ min: 0, max: 40 }), elsize: fc.integer({ min: 0, max: 300 }) }) },
    { weight: 10, arbitrary: fc.record({ op: fc.constant("aligned" as const), shift: fc.integer({ min: 0, max: 16 }), size }) },
    { weight: 16, arbitrary: fc.record({ op: fc.constant("realloc" as const), pick: fc.nat(), size }) },
    { weight: 28, arbitrary: fc.record({ op: fc.constant("free" as const), pick: fc.nat() }) },
  ),
  { maxLength: 100 },
);

describe("allocatorImports against the model", () => {
  it.each(["default", "malloc", "pymalloc_debug"] as const)("keeps blocks aligned, apart and intact under %s, and gives everything back", (config) => {
    fc.assert(
      fc.property(ops, (sequence) => {
        const { runtime, imports } = setUp(config);
        const model = new AllocatorModel(runtime.memory, 1);
        const baseline = runtime.mallocHeap.stats().allocatedBlocks;
        const live: number[] = [];
        for (const step of sequence) {
          switch (step.op) {
            case "malloc": {
              const p = asPointer(imports.malloc(i32(step.size)));
              model.allocated(p, step.size, false, 16);
              if (p !== 0) live.push(p);
              break;
            }
            case "calloc": {
              const p = asPointer(imports.calloc(i32(step.nelem), i32(step.elsize)));
              model.allocated(p, step.nelem * step.elsize, true, 16);
              if (p !== 0) live.push(p);
              break;
            }
            case "aligned": {
              const alignment = 2 ** step.shift;
              const p = asPointer(imports.aligned_alloc(i32(alignment), i32(step.size)));
              model.allocated(p, step.size, false, alignment);
              if (p !== 0) live.push(p);
              expect(imports.usable_size(i32(p))).toBeGreaterThanOrEqual(step.size);
              break;
            }
            case "realloc": {
              if (live.length === 0) break;
              const i = step.pick % live.length;
              const p = live[i]!;
              const q = asPointer(imports.realloc(i32(p), i32(step.size)));
              model.reallocated(p, q, step.size);
              if (q !== 0) live[i] = q;
              break;
            }
            case "free": {
              if (live.length === 0) break;
              const i = step.pick % live.length;
              const p = live[i]!;
              model.freed(p);
              imports.free(i32(p));
              live.splice(i, 1);
              break;
            }
          }
        }
        model.verifyAll();
        expect(runtime.check().ok).toBe(true);
        for (const p of live) {
          model.freed(p);
          imports.free(i32(p));
        }
        expect(runtime.check().ok).toBe(true);
        if (config === "malloc") expect(runtime.mallocHeap.stats().allocatedBlocks).toBe(baseline);
      }),
      { numRuns: Number(process.env["TSMALLOC_PROPERTY_RUNS"] ?? 40) },
    );
  });
});
