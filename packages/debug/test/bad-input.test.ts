/*
 * Bad input, call by call: every rejected call throws a typed error (or, for a valid size too
 * large for the memory, returns 0) and leaves every byte of the memory as it was.
 */
import { checkDebugHookOptions, DebugAllocator, dumpDebugBlock, isFreed, isPtrFreed, withDebugHooks } from "@tsmalloc/debug";
import { Malloc } from "@tsmalloc/malloc";
import { ErrorCode, LinearMemory, NULL } from "@tsmalloc/memory";
import { describe, expect, it } from "vitest";
import { bytesOf, corruption, expectBytesUnchanged, expectError, expectHeapOk, hooked } from "./helpers.ts";

const BAD_SIZES: unknown[] = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -1, -0.5, 1.5, "16", 16n, undefined, null, {}, true];
const TOO_LARGE: number[] = [2 ** 32, 2 ** 40, Number.MAX_SAFE_INTEGER, 2 ** 53 + 2, 1e300];
const BAD_POINTERS: unknown[] = [Number.NaN, -1, -16, 1.5, 2 ** 32, 2 ** 40, "64", 64n, undefined, null, {}];

type Call = (hooks: DebugAllocator, value: never) => unknown;

describe("sizes", () => {
  const calls: Record<string, Call> = {
    malloc: (h, n) => h.malloc(n),
    "calloc nelem": (h, n) => h.calloc(n, 1),
    "calloc elsize": (h, n) => h.calloc(1, n),
    realloc: (h, n) => h.realloc(h.malloc(8), n),
    "realloc of NULL": (h, n) => h.realloc(0, n),
  };

  it.each(Object.keys(calls))("%s: anything but a non-negative integer throws ERR_TSMALLOC_INVALID_SIZE, changing nothing", (name) => {
    const { hooks } = hooked({ api: "m" });
    const call = calls[name]!;
    for (const size of BAD_SIZES) {
      const prepared = name === "realloc" ? hooks.malloc(8) : 0;
      const before = bytesOf(hooks.memory);
      const error = expectError(() => (name === "realloc" ? hooks.realloc(prepared, size as number) : call(hooks, size as never)), ErrorCode.InvalidSize);
      expect(error.message).toMatch(/^(malloc|calloc|realloc): (size|nelem|elsize) must be a non-negative integer number, got /);
      expectBytesUnchanged(hooks.memory, before);
    }
  });

  it.each(Object.keys(calls))("%s: a valid size too large for the memory returns 0, changing nothing", (name) => {
    const { heap, hooks } = hooked();
    const limit = hooks.memory.maxByteLength - hooks.extraBytes;
    for (const size of [...TOO_LARGE, limit + 1]) {
      const prepared = name === "realloc" ? hooks.malloc(8) : 0;
      const before = bytesOf(hooks.memory);
      expect(name === "realloc" ? hooks.realloc(prepared, size) : calls[name]!(hooks, size as never)).toBe(0);
      expectBytesUnchanged(hooks.memory, before);
    }
    expectHeapOk(heap);
  });

  it("a size the memory could hold but the wrapped heap cannot provide returns 0", () => {
    const memory = new LinearMemory({ buffer: new ArrayBuffer(4 << 16) });
    const hooks = withDebugHooks(new Malloc(memory, { segmentSize: 1 << 16 }));
    const limit = memory.maxByteLength - hooks.extraBytes;
    expect(hooks.malloc(limit)).toBe(0);
    expect(hooks.calloc(1, limit)).toBe(0);
    expect(hooks.malloc(limit + 1)).toBe(0);
  });
});

describe("pointers", () => {
  const calls: Record<string, Call> = {
    free: (h, p) => h.free(p),
    realloc: (h, p) => h.realloc(p, 10),
    usableSize: (h, p) => h.usableSize(p),
    dump: (h, p) => h.dump(p),
    isFreed: (h, p) => h.isFreed(p),
  };

  it.each(Object.keys(calls))("%s: a value that is not an integer address throws ERR_TSMALLOC_INVALID_POINTER", (name) => {
    const { hooks } = hooked({ api: "o" });
    const before = bytesOf(hooks.memory);
    for (const ptr of BAD_POINTERS) {
      const error = expectError(() => calls[name]!(hooks, ptr as never), ErrorCode.InvalidPointer);
      expect(error.message.startsWith(`${name}: pointer must be an integer address in [0, 2^32), got `)).toBe(true);
    }
    expectBytesUnchanged(hooks.memory, before);
  });

  it.each(["free", "realloc", "usableSize", "dump"])("%s: a pointer whose header would lie outside the memory throws ERR_TSMALLOC_INVALID_POINTER", (name) => {
    const { hooks } = hooked();
    const end = hooks.memory.byteLength;
    const before = bytesOf(hooks.memory);
    for (const ptr of [1, 8, 15, end + 1, end + 16, 2 ** 32 - 1]) {
      const error = expectError(() => calls[name]!(hooks, ptr as never), ErrorCode.InvalidPointer);
      expect(error.address).toBe(ptr);
      expect(error.message).toBe(`${name}: 0x${ptr.toString(16)} cannot be a debug block: its 16-byte header would lie outside the memory (${end} bytes)`);
    }
    expectBytesUnchanged(hooks.memory, before);
  });

  it("free(0) does nothing; realloc(0, n) allocates; usableSize(0) and dump(0) are refused", () => {
    const { hooks } = hooked();
    const before = bytesOf(hooks.memory);
    hooks.free(NULL);
    expectBytesUnchanged(hooks.memory, before);
    expect(hooks.realloc(0, 4)).not.toBe(0);
    expectError(() => hooks.usableSize(0), ErrorCode.InvalidPointer);
    expectError(() => hooks.dump(0), ErrorCode.InvalidPointer);
  });

  it("a pointer inside the memory that is no debug block is reported (bad ID), changing nothing", () => {
    const { heap, hooks } = hooked({ api: "m" });
    const bare = heap.malloc(64); // a block of the heap, not of the hooks
    const block = hooks.malloc(64);
    const before = bytesOf(hooks.memory);
    for (const [ptr, id] of [[16, ".+"], [bare, ".+"], [block + 32, "\\\\xcd"], [block + 1, "\\\\xfd"], [hooks.memory.byteLength, ".+"]] as const) {
      expect(corruption(() => hooks.free(ptr)).message).toMatch(new RegExp(`^debugRawFree: bad ID: Allocated using API '${id}', verified using API 'm'$`));
      expect(corruption(() => hooks.realloc(ptr, 1)).func).toBe("debugRawRealloc");
    }
    expectBytesUnchanged(hooks.memory, before);
  });

  it("a block with a valid header that the wrapped heap does not know is refused by it before anything changes", () => {
    // two heaps in one memory, each with RAW hooks: the header checks pass, Malloc refuses
    const memory = new LinearMemory();
    const a = withDebugHooks(new Malloc(memory));
    const b = withDebugHooks(new Malloc(memory, { register: false }));
    // b frees blocks of its own first, so that it has pages it knows (it asks its heap once per page)
    for (let i = 0; i < 3; i++) b.free(b.malloc(100));
    const p = a.malloc(100);
    const before = bytesOf(memory);
    expectError(() => b.free(p), ErrorCode.InvalidPointer);
    expectError(() => b.realloc(p, 1000), ErrorCode.InvalidPointer);
    expectBytesUnchanged(memory, before);
    a.free(p);
  });
});

describe("options of withDebugHooks", () => {
  const heap = new Malloc(new LinearMemory());
  const bad: [string, unknown][] = [
    ["options", null],
    ["options", 5],
    ["api", "x"],
    ["api", "R"],
    ["api", 0x72],
    ["api", null],
    ["serialNumbers", 1],
    ["serialNumbers", "yes"],
    ["serialCounter", "own"],
    ["serialCounter", 0],
    ["serialCounter", 6],
    ["serialCounter", -8],
    ["serialCounter", 2 ** 32],
    ["serialCounter", null],
    ["layout", "32-bit"],
    ["layout", 4],
    ["tracebacks", -1],
    ["tracebacks", 1.5],
    ["tracebacks", 101],
    ["tracebacks", "5"],
    ["tracebacks", Number.NaN],
    ["tracebacks", true],
    ["onCorruption", "ignore"],
    ["onCorruption", null],
    ["onCorruption", 1],
    ["checkThread", "no"],
    ["checkThread", 0],
  ];

  it.each(bad)("%s = %o throws ERR_TSMALLOC_INVALID_OPTION and allocates nothing", (name, value) => {
    const before = heap.stats();
    const options = name === "options" ? value : { [name]: value };
    const error = expectError(() => withDebugHooks(heap, options as never), ErrorCode.InvalidOption);
    expect(error.message.startsWith("withDebugHooks: ")).toBe(true);
    if (name !== "options") expect(error.message).toContain(name);
    expect(heap.stats()).toEqual(before);
    // checkDebugHookOptions refuses the same options with the same error, allocating nothing
    const checked = expectError(() => checkDebugHookOptions(options as never), ErrorCode.InvalidOption);
    expect(checked.message).toBe(error.message);
  });

  it("a serialCounter address whose 8 bytes leave the memory throws ERR_TSMALLOC_INVALID_OPTION and allocates nothing", () => {
    const before = heap.stats();
    for (const address of [heap.memory.byteLength - 4, heap.memory.byteLength, 2 ** 32 - 4]) {
      const error = expectError(() => withDebugHooks(heap, { serialNumbers: true, serialCounter: address }), ErrorCode.InvalidOption);
      expect(error.message).toContain("serialCounter must be the address of an 8-byte counter inside the memory");
    }
    expect(heap.stats()).toEqual(before);
  });

  it("checkDebugHookOptions accepts what withDebugHooks accepts", () => {
    expect(() => checkDebugHookOptions({})).not.toThrow();
    expect(() => checkDebugHookOptions({ api: "o", serialNumbers: true, tracebacks: 100, onCorruption: () => {}, checkThread: false })).not.toThrow();
    for (const serialCounter of ["memory", "new", 4, 2 ** 32 - 4] as const) expect(() => checkDebugHookOptions({ serialCounter })).not.toThrow();
  });

  it("an explicit undefined takes the default", () => {
    const hooks = withDebugHooks(heap, { api: undefined, serialNumbers: undefined, serialCounter: undefined, tracebacks: undefined, onCorruption: undefined, checkThread: undefined } as never);
    expect([hooks.api, hooks.serialNumbers, hooks.serialCounter, hooks.tracebacks]).toEqual(["r", false, 0, 0]);
  });

  it("something that is not an Allocator over a LinearMemory throws ERR_TSMALLOC_INVALID_OPTION", () => {
    const memory = new LinearMemory();
    const fns = { malloc: () => 0, calloc: () => 0, realloc: () => 0, free: () => {} };
    for (const allocator of [null, undefined, 5, {}, { ...fns, name: "x" }, { ...fns, name: "x", memory: {} }, { ...fns, memory }, { name: "x", memory, malloc: () => 0 }]) {
      expectError(() => withDebugHooks(allocator as never), ErrorCode.InvalidOption);
    }
  });
});

describe("DebugAllocator.attach", () => {
  it("refuses an address that holds no state block with ERR_TSMALLOC_INCOMPATIBLE, changing nothing", () => {
    const { heap, hooks } = hooked({ api: "m" });
    const block = heap.malloc(64);
    const before = bytesOf(heap.memory);
    for (const address of [0, 2, hooks.stateAddress + 1, hooks.stateAddress + 4, block, heap.memory.byteLength - 16, heap.memory.byteLength, 2 ** 32, -4, 1.5, "64", undefined]) {
      const error = expectError(() => DebugAllocator.attach(heap, address as number), ErrorCode.Incompatible);
      expect(error.message.startsWith("DebugAllocator.attach: ")).toBe(true);
    }
    expectBytesUnchanged(heap.memory, before);
  });

  it("refuses another layout version and a damaged state block", () => {
    const { heap, hooks } = hooked({ api: "m" });
    const w = hooks.stateAddress >>> 2;
    const u32 = heap.memory.u32;
    u32[w + 1] = 1;
    expect(expectError(() => DebugAllocator.attach(heap, hooks.stateAddress), ErrorCode.Incompatible).message).toContain("layout version 1, this build reads 2");
    u32[w + 1] = 2;
    // a bad API id, serial numbers without a counter, an unknown flag, a counter without serial numbers
    for (const [word, value] of [[2, 0x78], [2, 0x16d], [2, 0x46d], [3, 2 * 16]] as const) {
      const saved = u32[w + word]!;
      u32[w + word] = value;
      expect(expectError(() => DebugAllocator.attach(heap, hooks.stateAddress), ErrorCode.Incompatible).message).toContain("damaged");
      u32[w + word] = saved;
    }
    expect(DebugAllocator.attach(heap, hooks.stateAddress).api).toBe("m");
  });

  it("refuses a bad allocator or options with ERR_TSMALLOC_INVALID_OPTION", () => {
    const { heap, hooks } = hooked();
    expectError(() => DebugAllocator.attach(null as never, hooks.stateAddress), ErrorCode.InvalidOption);
    expectError(() => DebugAllocator.attach(heap, hooks.stateAddress, { tracebacks: -1 }), ErrorCode.InvalidOption);
    expectError(() => DebugAllocator.attach(heap, hooks.stateAddress, null as never), ErrorCode.InvalidOption);
  });
});

describe("the free functions", () => {
  it("isFreed refuses a memory that is not a LinearMemory and a bad pointer", () => {
    const memory = new LinearMemory();
    expectError(() => isFreed({} as never, 0), ErrorCode.InvalidOption);
    expectError(() => isFreed(memory, -1), ErrorCode.InvalidPointer);
    expectError(() => isFreed(memory, "0" as never), ErrorCode.InvalidPointer);
  });

  it("dumpDebugBlock refuses the same pointers as dump()", () => {
    const memory = new LinearMemory();
    expectError(() => dumpDebugBlock({} as never, 64), ErrorCode.InvalidOption);
    expectError(() => dumpDebugBlock(memory, 15), ErrorCode.InvalidPointer);
    expectError(() => dumpDebugBlock(memory, memory.byteLength + 1), ErrorCode.InvalidPointer);
    expectError(() => dumpDebugBlock(memory, 0.5), ErrorCode.InvalidPointer);
    expect(dumpDebugBlock(memory, memory.byteLength)).toContain("lie outside the memory");
  });

  it("isPtrFreed is false, never an error, for anything that is not a fill pattern", () => {
    for (const value of [1, -1, 0.5, Number.NaN, 2 ** 32, 0xcdcdcdcd + 1, 0xcdcdcdcd00000000, -(2 ** 31) - 1, 1n, 2n ** 64n, 0xcdcdcdcdcdcdcdcdn + 2n ** 64n, "0", null, undefined, {}]) {
      expect(isPtrFreed(value as number)).toBe(false);
    }
  });
});
