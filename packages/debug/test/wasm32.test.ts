/*
 * The wasm32 layout of the hooks (option layout: "wasm32"): CPython's debug blocks on a 32-bit
 * platform, where SST (sizeof(size_t)) is 4: a 4-byte big-endian size, the API id, 3 pad bytes,
 * the data, 4 pad bytes and, with serial numbers, a 4-byte serial number; 12 extra bytes a block
 * (16 with serial numbers). The report is CPython's with SST = 4 ("The 3 pad bytes at p-3").
 */
import { DebugAllocator, DebugLayouts, dumpDebugBlock, isFreed, withDebugHooks } from "@tsmalloc/debug";
import { Malloc } from "@tsmalloc/malloc";
import { ErrorCode, formatAddress, LinearMemory } from "@tsmalloc/memory";
import { Pymalloc } from "@tsmalloc/pymalloc";
import { describe, expect, it } from "vitest";
import {
  bytesOf,
  corruption,
  ENABLE_TRACEMALLOC,
  expectBytesUnchanged,
  expectError,
  expectFilled,
  expectHeapOk,
  fillPattern,
  lines,
  patternMismatch,
} from "./helpers.ts";

function wasm32Hooks(options: Parameters<typeof withDebugHooks>[1] = {}): { heap: Malloc; hooks: DebugAllocator } {
  const heap = new Malloc(new LinearMemory());
  return { heap, hooks: withDebugHooks(heap, { ...options, layout: "wasm32" }) };
}

/** Expects a wasm32 debug block of `n` bytes at `p`: 4-byte size, id, 3 and 4 pad bytes. */
function expectBlock32(memory: LinearMemory, p: number, n: number, api: string): void {
  expect(memory.dataView.getUint32(p - 8, false)).toBe(n);
  const u8 = memory.u8;
  expect(String.fromCharCode(u8[p - 4]!)).toBe(api);
  expect([...u8.subarray(p - 3, p)]).toEqual([0xfd, 0xfd, 0xfd]);
  expect([...u8.subarray(p + n, p + n + 4)]).toEqual([0xfd, 0xfd, 0xfd, 0xfd]);
}

describe("the wasm32 layout", () => {
  it("is SST 4: 8-byte headers, 4-byte trailers, 12 extra bytes (16 with serial numbers)", () => {
    expect(DebugLayouts.wasm32).toEqual({ name: "wasm32", sst: 4, headerBytes: 8, extraBytes: 12, extraBytesSerial: 16 });
    expect(DebugLayouts["64-bit"]).toEqual({ name: "64-bit", sst: 8, headerBytes: 16, extraBytes: 24, extraBytesSerial: 32 });
    expect(Object.isFrozen(DebugLayouts.wasm32)).toBe(true);
    expect(wasm32Hooks().hooks.extraBytes).toBe(12);
    expect(wasm32Hooks({ serialNumbers: true }).hooks.extraBytes).toBe(16);
    expect(wasm32Hooks().hooks.layout).toBe(DebugLayouts.wasm32);
    expect(withDebugHooks(new Malloc()).layout).toBe(DebugLayouts["64-bit"]);
  });

  it("writes the size, the id and the pads around data of 0xCD, in a block of n + 12 bytes", () => {
    const { heap, hooks } = wasm32Hooks({ api: "m" });
    for (const n of [0, 1, 7, 16, 100, 5000]) {
      const p = hooks.malloc(n);
      expectBlock32(hooks.memory, p, n, "m");
      expectFilled(hooks.memory, p, n, 0xcd);
      expect(heap.usableSize(p - 8)).toBeGreaterThanOrEqual(n + 12);
      expect(hooks.usableSize(p)).toBe(n);
      hooks.free(p);
      // freed: the whole block reads 0xDD, header and trailer included
      expectFilled(hooks.memory, p - 8, n + 12, 0xdd);
    }
    const z = hooks.calloc(3, 5);
    expectBlock32(hooks.memory, z, 15, "m");
    expectFilled(hooks.memory, z, 15, 0);
    hooks.free(z);
    expectHeapOk(heap);
  });

  it("reports an overflow as CPython does with SST 4", () => {
    const { heap, hooks } = wasm32Hooks({ api: "m" });
    const p = hooks.malloc(16);
    hooks.memory.u8[p + 16] = 0x78;
    const error = corruption(() => hooks.free(p));
    expect(lines(error.report)).toEqual([
      `Debug memory block at address p=${formatAddress(p)}: API 'm'`,
      "    16 bytes originally requested",
      "    The 3 pad bytes at p-3 are FORBIDDENBYTE, as expected.",
      `    The 4 pad bytes at tail=${formatAddress(p + 16)} are not all FORBIDDENBYTE (0xfd):`,
      "        at tail+0: 0x78 *** OUCH",
      "        at tail+1: 0xfd",
      "        at tail+2: 0xfd",
      "        at tail+3: 0xfd",
      "    Data at p: cd cd cd cd cd cd cd cd cd cd cd cd cd cd cd cd",
      "",
      ENABLE_TRACEMALLOC,
      "",
      "Fatal tsmalloc error: debugRawFree: bad trailing pad byte",
    ]);
    hooks.memory.u8[p + 16] = 0xfd;
    hooks.free(p);
    expectHeapOk(heap);
  });

  it("reports an underflow, a wrong API and a double free, each checking SST - 1 leading pads", () => {
    const { hooks } = wasm32Hooks({ api: "o", serialNumbers: true });
    const p = hooks.malloc(40);
    fillPattern(hooks.memory, p, 40, 3);
    hooks.memory.u8[p - 1] = 0x41;
    const under = lines(corruption(() => hooks.free(p)).report);
    expect(under.slice(2, 8)).toEqual([
      "    The 3 pad bytes at p-3 are not all FORBIDDENBYTE (0xfd):",
      "        at p-3: 0xfd",
      "        at p-2: 0xfd",
      "        at p-1: 0x41 *** OUCH",
      "    Because memory is corrupted at the start, the count of bytes requested",
      "       may be bogus, and checking the trailing pad bytes may segfault.",
    ]);
    expect(under).toContain(`    The 4 pad bytes at tail=${formatAddress(p + 40)} are FORBIDDENBYTE, as expected.`);
    expect(under).toContain("    The block was made by call #1 to debug malloc/realloc.");
    expect(under.at(-1)).toBe("Fatal tsmalloc error: debugRawFree: bad leading pad byte");
    hooks.memory.u8[p - 1] = 0xfd;
    const raw = withDebugHooks(hooks.wrapped, { api: "r", layout: "wasm32" });
    expect(corruption(() => raw.free(p)).message).toBe("debugRawFree: bad ID: Allocated using API 'o', verified using API 'r'");
    hooks.free(p);
    // the id byte sits 4 bytes into malloc's payload, where malloc keeps a free-list link now
    expect(corruption(() => hooks.free(p)).message).toMatch(/^debugRawFree: bad ID: Allocated using API '\\x[0-9a-f]{2}', verified using API 'o'$/);
  });

  it("numbers blocks with 4-byte serial numbers after the trailer, and the dump reads them", () => {
    const { hooks } = wasm32Hooks({ serialNumbers: true });
    const a = hooks.malloc(5);
    const b = hooks.malloc(5);
    expect(hooks.memory.dataView.getUint32(b + 5 + 4, false)).toBe(2);
    expect(hooks.dump(a)).toContain("    The block was made by call #1 to debug malloc/realloc.\n");
    expect(dumpDebugBlock(hooks.memory, b, true, "wasm32")).toBe(hooks.dump(b).slice(0, -(ENABLE_TRACEMALLOC.length + 2)));
    // a 32-bit size_t counter wraps: the field holds the low 32 bits
    hooks.memory.u32[hooks.serialCounter >>> 2] = 0xffffffff;
    const c = hooks.malloc(1);
    expect(hooks.memory.dataView.getUint32(c + 1 + 4, false)).toBe(0);
  });

  it("realloc keeps the contents on every path, and a failed one leaves the memory as it was", () => {
    const memory = new LinearMemory({ buffer: new ArrayBuffer(4 << 16) });
    const heap = new Malloc(memory, { segmentSize: 1 << 16 });
    const hooks = withDebugHooks(heap, { layout: "wasm32", serialNumbers: true });
    for (const [old, size] of [[10, 200], [200, 10], [150, 150], [0, 64], [64, 0], [300, 1000]] as const) {
      const p = hooks.malloc(old);
      fillPattern(memory, p, old, old);
      const q = hooks.realloc(p, size);
      expect(q).not.toBe(0);
      expect(patternMismatch(memory, q, Math.min(old, size), old)).toBe(-1);
      expectBlock32(memory, q, size, "r");
      if (size > old) expectFilled(memory, q + old, size - old, 0xcd);
      hooks.free(q);
    }
    const p = hooks.malloc(100);
    fillPattern(memory, p, 100, 9);
    const before = bytesOf(memory);
    expect(hooks.realloc(p, 150_000)).toBe(0);
    expectBytesUnchanged(memory, before);
    hooks.free(p);
    expectHeapOk(heap);
  });

  it("keeps pymalloc's 8-byte alignment over the wasm32 pymalloc layout: data at head + 8", () => {
    const obj = new Pymalloc(new Malloc(new LinearMemory()), { layout: "wasm32" });
    const hooks = withDebugHooks(obj, { api: "o", layout: "wasm32" });
    for (const n of [0, 1, 4, 20, 500, 501]) {
      const p = hooks.malloc(n);
      expect(p % 8).toBe(0);
      expectBlock32(obj.memory, p, n, "o");
      // n + 12 bytes from pymalloc: class (n + 11) >> 3 while it fits 512
      if (n + 12 <= 512) expect(obj.usableSize(p - 8)).toBe(Math.ceil((n + 12) / 8) * 8);
      hooks.free(p);
    }
    expect(obj.check().ok).toBe(true);
  });

  it("attach takes the layout from the state block", () => {
    const { heap, hooks } = wasm32Hooks({ api: "o", serialNumbers: true });
    const other = DebugAllocator.attach(Malloc.attach(heap.memory), hooks.stateAddress);
    expect(other.layout).toBe(DebugLayouts.wasm32);
    expect(other.extraBytes).toBe(16);
    const p = other.malloc(3);
    expectBlock32(heap.memory, p, 3, "o");
    hooks.free(p);
  });

  it("isFreed reads the 4-byte type pointer of a 32-bit PyObject, at ptr + 4", () => {
    const { hooks } = wasm32Hooks();
    const p = hooks.malloc(8);
    const memory = hooks.memory;
    expect(hooks.isFreed(p)).toBe(true); // 0xCDCDCDCD where ob_type would be
    expect(isFreed(memory, p, "wasm32")).toBe(true);
    memory.u32[(p + 4) >>> 2] = 0x12345678;
    expect(hooks.isFreed(p)).toBe(false);
    expect(isFreed(memory, p, "wasm32")).toBe(false);
    hooks.free(p);
    expect(hooks.isFreed(p)).toBe(true);
    // a 4-byte block is too small for a type pointer: ptr + 4 is the trailing pad, 0xFDFDFDFD
    const small = hooks.malloc(4);
    memory.u32[small >>> 2] = 1;
    expect(hooks.isFreed(small)).toBe(true);
  });

  it("refuses a layout that is not one, and a pointer whose 8-byte header leaves the memory", () => {
    for (const layout of ["32-bit", "wasm64", 4, null]) {
      const error = expectError(() => withDebugHooks(new Malloc(), { layout: layout as never }), ErrorCode.InvalidOption);
      expect(error.message).toContain('layout must be "64-bit" or "wasm32"');
      expectError(() => dumpDebugBlock(new LinearMemory(), 64, false, layout as never), ErrorCode.InvalidOption);
      expectError(() => isFreed(new LinearMemory(), 64, layout as never), ErrorCode.InvalidOption);
    }
    const { hooks } = wasm32Hooks();
    const error = expectError(() => hooks.free(4), ErrorCode.InvalidPointer);
    expect(error.message).toBe("free: 0x4 cannot be a debug block: its 8-byte header would lie outside the memory (" + hooks.memory.byteLength + " bytes)");
  });
});
