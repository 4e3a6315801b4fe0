/*
 * realloc as CPython's debug hooks do it (erase the ends, call the wrapped realloc, restore):
 * the contents survive on all three of Malloc's paths (shrink in place, grow in place into a free
 * neighbour, move), grown bytes read 0xCD, and a failed realloc leaves every byte of the memory
 * as it was.
 */
import { Malloc } from "@tsmalloc/malloc";
import { ErrorCode, LinearMemory } from "@tsmalloc/memory";
import { withDebugHooks } from "@tsmalloc/debug";
import { describe, expect, it } from "vitest";
import {
  bytesOf,
  corruption,
  expectBlock,
  expectBytesUnchanged,
  expectFilled,
  expectHeapOk,
  hooked,
  fillPattern,
  patternMismatch,
  readBigEndian,
} from "./helpers.ts";

const OLD_SIZES = [0, 1, 50, 64, 127, 128, 129, 200, 1000];
const NEW_SIZES = [0, 1, 63, 64, 65, 100, 127, 128, 129, 190, 500, 5000];

describe("realloc", () => {
  it("keeps the contents and fills growth with 0xCD on every path, for sizes around the 64 + 64 saved bytes", () => {
    const paths = { shrank: 0, grewInPlace: 0, moved: 0 };
    for (const freeNeighbour of [false, true]) {
      for (const old of OLD_SIZES) {
        for (const size of NEW_SIZES) {
          const { heap, hooks } = hooked({ api: "m" });
          // blocks are carved from the top of the free space down: the block made before p is
          // its right neighbour
          const right = hooks.malloc(6000);
          const p = hooks.malloc(old);
          const left = hooks.malloc(16);
          if (freeNeighbour) hooks.free(right);
          fillPattern(hooks.memory, p, old, old + size);
          const q = hooks.realloc(p, size);
          expect(q).not.toBe(0);
          expect(q % 16).toBe(0);
          const label = `${old} -> ${size}${freeNeighbour ? " (free neighbour)" : ""}`;
          if (q !== p) paths.moved++;
          else if (size <= old) paths.shrank++;
          else paths.grewInPlace++;
          expect(patternMismatch(hooks.memory, q, Math.min(old, size), old + size), label).toBe(-1);
          if (size > old) expectFilled(hooks.memory, q + old, size - old, 0xcd);
          expectBlock(hooks.memory, q, size, "m");
          expect(hooks.usableSize(q)).toBe(size);
          hooks.free(q);
          hooks.free(left);
          if (!freeNeighbour) hooks.free(right);
          expect(heap.stats().allocatedBlocks).toBe(1);
          expectHeapOk(heap);
        }
      }
    }
    // each path was taken many times
    expect(paths.shrank).toBeGreaterThan(20);
    expect(paths.grewInPlace).toBeGreaterThan(20);
    expect(paths.moved).toBeGreaterThan(20);
  });

  it("keeps the middle of a large block that the erasing does not touch", () => {
    const { hooks } = hooked();
    const p = hooks.malloc(100_000);
    fillPattern(hooks.memory, p, 100_000, 3);
    hooks.malloc(16); // make it move
    const q = hooks.realloc(p, 300_000);
    expect(q).not.toBe(p);
    expect(patternMismatch(hooks.memory, q, 100_000, 3)).toBe(-1);
    expectFilled(hooks.memory, q + 100_000, 200_000, 0xcd);
    // the old place was erased at both ends before it was handed back
    expectFilled(hooks.memory, p - 8, 8 + 64, 0xdd);
    expectFilled(hooks.memory, p + 100_000 - 64, 64 + 8, 0xdd);
  });

  it("realloc(0, n) is malloc(n), and realloc(p, 0) keeps a 0-byte block", () => {
    const { hooks } = hooked({ api: "o" });
    const p = hooks.realloc(0, 20);
    expectBlock(hooks.memory, p, 20, "o");
    expectFilled(hooks.memory, p, 20, 0xcd);
    const q = hooks.realloc(p, 0);
    expect(q).not.toBe(0);
    expectBlock(hooks.memory, q, 0, "o");
    expect(hooks.usableSize(q)).toBe(0);
    const r = hooks.realloc(q, 10);
    expectFilled(hooks.memory, r, 10, 0xcd);
    hooks.free(r);
  });

  it("fails with 0 and leaves every byte of the memory as it was when the wrapped allocator fails", () => {
    for (const serialNumbers of [false, true]) {
      for (const old of [0, 10, 100, 128, 129, 1000, 20_000]) {
        // four pages: the memory's header, one 64 KiB segment, room for nothing bigger
        const memory = new LinearMemory({ buffer: new ArrayBuffer(4 << 16) });
        const heap = new Malloc(memory, { segmentSize: 1 << 16 });
        const hooks = withDebugHooks(heap, { serialNumbers });
        const p = hooks.malloc(old);
        fillPattern(memory, p, old, 9);
        const neighbour = hooks.malloc(100); // so that p cannot grow in place
        const before = bytesOf(memory);
        const stats = heap.stats();
        expect(hooks.realloc(p, 150_000)).toBe(0);
        expectBytesUnchanged(memory, before);
        expect(heap.stats()).toEqual(stats);
        expect(patternMismatch(memory, p, old, 9)).toBe(-1);
        // the block still works
        const q = hooks.realloc(p, old + 10);
        expect(q).not.toBe(0);
        expect(patternMismatch(memory, q, old, 9)).toBe(-1);
        hooks.free(q);
        hooks.free(neighbour);
        expectHeapOk(heap);
      }
    }
  });

  it("returns 0 without touching anything for a size too large for the memory", () => {
    const { hooks } = hooked();
    const p = hooks.malloc(10);
    const before = bytesOf(hooks.memory);
    for (const size of [hooks.memory.maxByteLength - 23, 2 ** 32, 2 ** 40, Number.MAX_SAFE_INTEGER]) {
      expect(hooks.realloc(p, size)).toBe(0);
    }
    expectBytesUnchanged(hooks.memory, before);
    hooks.free(p);
  });

  it("checks the block first, reports debugRawRealloc, and changes nothing", () => {
    const { heap, hooks } = hooked({ api: "m" });
    const p = hooks.malloc(30);
    hooks.memory.u8[p + 31] = 0;
    const before = bytesOf(hooks.memory);
    const error = corruption(() => hooks.realloc(p, 100));
    expect(error.message).toBe("debugRawRealloc: bad trailing pad byte");
    expect(error.report.endsWith("Fatal tsmalloc error: debugRawRealloc: bad trailing pad byte\n")).toBe(true);
    expectBytesUnchanged(hooks.memory, before);
    expectHeapOk(heap);
  });

  it("checks the block before the size, as _PyMem_DebugRawRealloc does: a damaged block is reported for a size too large", () => {
    const { heap, hooks } = hooked({ api: "o" });
    const p = hooks.malloc(30);
    const tooLarge = [hooks.memory.maxByteLength - 23, 2 ** 32 - 1, 2 ** 32, 2 ** 40, Number.MAX_SAFE_INTEGER];
    for (const [damage, message] of [
      [p + 30, "bad trailing pad byte"],
      [p - 1, "bad leading pad byte"],
      [p - 8, "bad ID: Allocated using API 'x', verified using API 'o'"],
    ] as const) {
      const saved = hooks.memory.u8[damage]!;
      hooks.memory.u8[damage] = 0x78;
      const before = bytesOf(hooks.memory);
      for (const size of tooLarge) {
        const error = corruption(() => hooks.realloc(p, size));
        expect(error.message, `${message}, size ${size}`).toBe(`debugRawRealloc: ${message}`);
      }
      expectBytesUnchanged(hooks.memory, before);
      hooks.memory.u8[damage] = saved;
    }
    // intact, the same sizes return 0 and change nothing
    for (const size of tooLarge) expect(hooks.realloc(p, size)).toBe(0);
    hooks.free(p);
    expectHeapOk(heap);
  });

  it("gives a moved or resized block a new serial number, and a failed one keeps its own", () => {
    const memory = new LinearMemory({ buffer: new ArrayBuffer(4 << 16) });
    const hooks = withDebugHooks(new Malloc(memory, { segmentSize: 1 << 16 }), { serialNumbers: true });
    expect(hooks.extraBytes).toBe(32);
    const p = hooks.malloc(8); // call #1
    const other = hooks.malloc(8); // call #2
    expect(readBigEndian(memory, p + 8 + 8)).toBe(1n);
    const q = hooks.realloc(p, 40); // call #3
    expect(readBigEndian(memory, q + 40 + 8)).toBe(3n);
    expect(hooks.realloc(q, 150_000)).toBe(0); // fails: no new number
    expect(readBigEndian(memory, q + 40 + 8)).toBe(3n);
    expect(readBigEndian(memory, hooks.malloc(1) + 1 + 8)).toBe(4n);
    expect(hooks.dump(q)).toContain("    The block was made by call #3 to debug malloc/realloc.\n");
    hooks.free(other);
    expect(() => hooks.realloc(q, -1)).toThrow(expect.objectContaining({ code: ErrorCode.InvalidSize }));
  });
});
