/*
 * What the checks catch besides test_mem.py's scenarios: underflows (CPython's "bad leading pad
 * byte"), double frees and writes after free (bad ID, with a dump that stays inside the memory
 * whatever the wrapped allocator wrote over the freed header), overflows of every length, and
 * stale pointers into memory that was handed out again.
 */
import { Malloc } from "@tsmalloc/malloc";
import { formatAddress, LinearMemory } from "@tsmalloc/memory";
import { withDebugHooks } from "@tsmalloc/debug";
import { describe, expect, it } from "vitest";
import {
  bytesOf,
  corruption,
  ENABLE_TRACEMALLOC,
  expectBytesUnchanged,
  expectHeapOk,
  hexRun,
  hooked,
  leadingLines,
  lines,
  readBigEndian,
  trailingLines,
} from "./helpers.ts";

describe("underflow", () => {
  it("one byte before the data is a bad leading pad byte, with CPython's warning about the size", () => {
    const { heap, hooks } = hooked({ api: "m" });
    const p = hooks.malloc(40);
    hooks.memory.u8.fill(0x61, p, p + 40);
    hooks.memory.u8[p - 1] = 0x41;
    const error = corruption(() => hooks.free(p));
    expect(lines(error.report)).toEqual([
      `Debug memory block at address p=${formatAddress(p)}: API 'm'`,
      "    40 bytes originally requested",
      "    The 7 pad bytes at p-7 are not all FORBIDDENBYTE (0xfd):",
      "        at p-7: 0xfd",
      "        at p-6: 0xfd",
      "        at p-5: 0xfd",
      "        at p-4: 0xfd",
      "        at p-3: 0xfd",
      "        at p-2: 0xfd",
      "        at p-1: 0x41 *** OUCH",
      "    Because memory is corrupted at the start, the count of bytes requested",
      "       may be bogus, and checking the trailing pad bytes may segfault.",
      `    The 8 pad bytes at tail=${formatAddress(p + 40)} are FORBIDDENBYTE, as expected.`,
      "    Data at p: 61 61 61 61 61 61 61 61 ... 61 61 61 61 61 61 61 61",
      "",
      ENABLE_TRACEMALLOC,
      "",
      "Fatal tsmalloc error: debugRawFree: bad leading pad byte",
    ]);
    expect(error.message).toBe("debugRawFree: bad leading pad byte");
    expectHeapOk(heap);
  });

  it("of 1 to 7 bytes marks each damaged byte, and beats a damaged trailer (CPython's order)", () => {
    const { hooks } = hooked();
    for (let length = 1; length <= 7; length++) {
      const p = hooks.malloc(16);
      const u8 = hooks.memory.u8;
      const bad = new Map<number, number>();
      for (let i = 1; i <= length; i++) {
        u8[p - i] = i;
        bad.set(i, i);
      }
      u8[p + 16] = 0; // an overflow too: the leading pad is checked first
      const report = lines(corruption(() => hooks.free(p)).report);
      expect(report.slice(2, 2 + 10)).toEqual(leadingLines(bad));
      expect(report.slice(12, 21)).toEqual(trailingLines(p + 16, new Map([[0, 0]])));
      expect(report.at(-1)).toBe("Fatal tsmalloc error: debugRawFree: bad leading pad byte");
    }
  });

  it("reaching the API id byte is a bad ID", () => {
    const { hooks } = hooked({ api: "o" });
    const p = hooks.malloc(16);
    hooks.memory.u8.fill(0x00, p - 8, p);
    const error = corruption(() => hooks.free(p));
    expect(error.message).toBe("debugRawFree: bad ID: Allocated using API '\\x00', verified using API 'o'");
    expect(error.api).toBe("\\x00");
    expect(lines(error.report)[0]).toBe(`Debug memory block at address p=${formatAddress(p)}: API '\\x00'`);
  });
});

describe("overflow", () => {
  it("of 1 to 8 bytes marks each damaged byte of the trailer", () => {
    const { hooks } = hooked();
    for (let length = 1; length <= 8; length++) {
      const n = 5 + length;
      const p = hooks.malloc(n);
      const bad = new Map<number, number>();
      for (let i = 0; i < length; i++) {
        hooks.memory.u8[p + n + i] = 0x30 + i;
        bad.set(i, 0x30 + i);
      }
      const report = lines(corruption(() => hooks.free(p)).report);
      expect(report.slice(0, 3)).toEqual([`Debug memory block at address p=${formatAddress(p)}: API 'r'`, `    ${n} bytes originally requested`, ...leadingLines()]);
      expect(report.slice(3, 12)).toEqual(trailingLines(p + n, bad));
      expect(report.at(-1)).toBe("Fatal tsmalloc error: debugRawFree: bad trailing pad byte");
    }
  });

  it("of a 0-byte block lands on the trailer at p", () => {
    const { hooks } = hooked();
    const p = hooks.malloc(0);
    hooks.memory.u8[p] = 0x01;
    expect(lines(corruption(() => hooks.free(p)).report)).toEqual([
      `Debug memory block at address p=${formatAddress(p)}: API 'r'`,
      "    0 bytes originally requested",
      ...leadingLines(),
      ...trailingLines(p, new Map([[0, 1]])),
      "",
      ENABLE_TRACEMALLOC,
      "",
      "Fatal tsmalloc error: debugRawFree: bad trailing pad byte",
    ]);
  });
});

describe("double free", () => {
  it("is a bad ID (the id reads 0xDD), reported from a bounded dump, and changes nothing", () => {
    const { heap, hooks } = hooked({ api: "m" });
    const keep = hooks.malloc(16);
    const p = hooks.malloc(16);
    const after = hooks.malloc(16);
    hooks.free(p);
    const before = bytesOf(hooks.memory);
    const error = corruption(() => hooks.free(p));
    expect(error.message).toBe("debugRawFree: bad ID: Allocated using API '\\xdd', verified using API 'm'");
    expect(error.api).toBe("\\xdd");
    const report = lines(error.report);
    expect(report[0]).toBe(`Debug memory block at address p=${formatAddress(p)}: API '\\xdd'`);
    // whatever Malloc's free wrote over the size field is printed as it reads
    expect(report[1]).toBe(`    ${readBigEndian(hooks.memory, p - 16)} bytes originally requested`);
    expect(report.slice(2, 12)).toEqual(leadingLines(new Map([1, 2, 3, 4, 5, 6, 7].map((i) => [i, 0xdd]))));
    expect(report.at(-1)).toBe("Fatal tsmalloc error: debugRawFree: bad ID: Allocated using API '\\xdd', verified using API 'm'");
    expectBytesUnchanged(hooks.memory, before);
    hooks.free(keep);
    hooks.free(after);
    expectHeapOk(heap);
  });

  it("does not read outside the memory when the free-list link over the size field makes it huge", () => {
    const { heap, hooks } = hooked();
    // isolated blocks of one size class: freeing the second links it to the first, and Malloc
    // writes that link where the debug header's size field was
    const blocks = Array.from({ length: 8 }, () => hooks.malloc(40));
    hooks.free(blocks[1]!);
    hooks.free(blocks[3]!);
    hooks.free(blocks[5]!);
    const p = blocks[5]!;
    const size = readBigEndian(hooks.memory, p - 16);
    expect(size >> 32n).not.toBe(0n); // a link, not a size
    const report = lines(corruption(() => hooks.free(p)).report);
    const end = hooks.memory.byteLength;
    expect(report[1]).toBe(`    ${size} bytes originally requested`);
    expect(report[12]).toBe(`    The 8 pad bytes at tail=0x${(BigInt(p) + size).toString(16)} lie outside the memory, which ends at ${formatAddress(end)}; not read.`);
    expect(report[13]).toBe(`    Data at p: ${hexRun(0xdd, 8)} ... (the rest lies outside the memory)`);
    expect(report.slice(14)).toEqual(["", ENABLE_TRACEMALLOC, "", "Fatal tsmalloc error: debugRawFree: bad ID: Allocated using API '\\xdd', verified using API 'r'"]);
    for (const q of [blocks[0], blocks[2], blocks[4], blocks[6], blocks[7]]) hooks.free(q!);
    expectHeapOk(heap);
  });

  it("stays inside the memory when the block sits at the very end of it", () => {
    // a test double that hands out the last bytes of the memory
    const memory = new LinearMemory({ buffer: new ArrayBuffer(2 << 16) });
    const end = memory.byteLength;
    let next = 1 << 16;
    const bump = {
      name: "bump",
      memory,
      malloc: (n: number) => {
        const p = next;
        next += Math.ceil(n / 16) * 16;
        return p;
      },
      calloc: () => 0,
      realloc: () => 0,
      free: () => {},
    };
    const hooks = withDebugHooks(bump);
    next = end - 32; // the next block: 16 header + 8 data + 8 trailer, up to the end
    const p = hooks.malloc(8);
    expect(p + 16).toBe(end);
    hooks.free(p);
    // the size field now reads 0xDDDD..., and the id 0xDD
    for (let garbage = 0; garbage < 3; garbage++) {
      const u8 = memory.u8;
      if (garbage === 1) u8.fill(0x00, p - 16, p - 9); // size = 0xdd: tail inside, trailer past the end
      if (garbage === 2) u8.fill(0x00, p - 16, p - 8); // size = 0: the trailer is the block's DEADBYTEs
      const report = lines(corruption(() => hooks.free(p)).report);
      expect(report.at(-1)).toBe("Fatal tsmalloc error: debugRawFree: bad ID: Allocated using API '\\xdd', verified using API 'r'");
      if (garbage === 1) {
        expect(report[1]).toBe("    221 bytes originally requested");
        expect(report[12]).toMatch(/^ {4}The 8 pad bytes at tail=0x[0-9a-f]+ lie outside the memory, which ends at 0x20000; not read\.$/);
        expect(report[13]).toBe(`    Data at p: ${hexRun(0xdd, 8)} ... (the rest lies outside the memory)`);
      }
      if (garbage === 2) {
        expect(report[1]).toBe("    0 bytes originally requested");
        expect(report.slice(12, 21)).toEqual(trailingLines(p, new Map([0, 1, 2, 3, 4, 5, 6, 7].map((i) => [i, 0xdd]))));
      }
    }
  });
});

describe("write after free", () => {
  it("is caught as bad ID when the dangling pointer is freed or resized again, and the dump shows the write", () => {
    const { heap, hooks } = hooked({ api: "o" });
    const guard = hooks.malloc(64);
    const p = hooks.malloc(64);
    const guard2 = hooks.malloc(64);
    hooks.free(p);
    hooks.memory.u8.fill(0x77, p, p + 4); // the write after free
    const freeError = corruption(() => hooks.free(p));
    expect(freeError.message).toBe("debugRawFree: bad ID: Allocated using API '\\xdd', verified using API 'o'");
    // the size field holds whatever Malloc's free wrote there (a free-list link, 0 when the list
    // was empty), so the write shows as data or as the "trailer" the size points at
    expect(freeError.report).toMatch(/ 77 77 77 77 dd dd dd dd|at tail\+0: 0x77 \*\*\* OUCH/);
    const reallocError = corruption(() => hooks.realloc(p, 10));
    expect(reallocError.message).toBe("debugRawRealloc: bad ID: Allocated using API '\\xdd', verified using API 'o'");
    hooks.free(guard);
    hooks.free(guard2);
    expectHeapOk(heap);
  });

  it("through a stale pointer into memory handed out again reads that block's bytes as the id", () => {
    const { heap, hooks } = hooked();
    const p = hooks.malloc(200);
    hooks.free(p);
    // a larger block now covers the old one: its data (0xCD) lies where the old id byte was
    const q = hooks.malloc(400);
    expect(q).toBeLessThan(p);
    expect(q + 400).toBeGreaterThan(p);
    const error = corruption(() => hooks.free(p));
    expect(error.message).toBe("debugRawFree: bad ID: Allocated using API '\\xcd', verified using API 'r'");
    hooks.free(q);
    expectHeapOk(heap);
  });
});

describe("what is not detected (as in CPython)", () => {
  it("a stale pointer to a block freed and allocated again at the same address", () => {
    const heap = new Malloc(new LinearMemory());
    const hooks = withDebugHooks(heap);
    const p = hooks.malloc(32);
    hooks.free(p);
    const q = hooks.malloc(32);
    expect(q).toBe(p);
    hooks.free(p); // frees q: the header is valid again
    expect(heap.stats().allocatedBlocks).toBe(1); // the hooks' state block
  });

  it("a write past the end that leaves the pad bytes as they were (0xFD), or that skips them", () => {
    const { hooks } = hooked();
    const p = hooks.malloc(17); // Malloc rounds 17 + 24 bytes up to a 56-byte payload
    hooks.memory.u8[p + 17] = 0xfd;
    hooks.memory.u8[p + 17 + 8] = 0x00; // past the trailer, in the wrapped allocator's rounding
    hooks.free(p);
  });
});
