/*
 * The hooks write and check their guard bytes a 32-bit word at a time, and ask the wrapped
 * allocator about a block only once per page and memory generation. These tests pin down what
 * must not change with that: every single damaged byte of the id and of each pad is found and
 * reported as CPython reports it, at every offset, for every size from 0 to 40 (so every
 * alignment of the trailer), in both layouts, in blocks that are 4-byte aligned (the word path)
 * and blocks that are not (the byte path); the fills cover exactly the block; a double free is
 * still caught after the memory was reused; and a block of another heap is still refused before
 * anything changes, also on a page that the hooks have seen before, once the page changed hands.
 */
import { type DebugLayoutName, DebugLayouts, dumpDebugBlock, withDebugHooks } from "@tsmalloc/debug";
import { Malloc } from "@tsmalloc/malloc";
import { type Allocator, ErrorCode, LinearMemory } from "@tsmalloc/memory";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bytesOf, corruption, ENABLE_TRACEMALLOC, expectBytesUnchanged, expectError, expectFilled } from "./helpers.ts";

/**
 * Hands out blocks one after the other, `alignment` apart, and never reuses memory, so that every
 * byte the hooks write stays visible; the first block (the hooks' state block) is 4-byte aligned.
 */
class Cursor implements Allocator {
  readonly name = "cursor";
  readonly memory: LinearMemory;
  readonly live = new Map<number, number>();
  /** When true, realloc fails (returns 0) and changes nothing. */
  failRealloc = false;
  #next: number;
  readonly #alignment: number;

  constructor(alignment: number, memory: LinearMemory = new LinearMemory()) {
    this.memory = memory;
    this.#next = memory.map(1 << 20);
    this.#alignment = alignment;
  }

  /** Moves the next block to `offset` past a multiple of 4. */
  skipTo(offset: number): void {
    this.#next = Math.ceil(this.#next / 4) * 4 + offset;
  }

  malloc(size: number): number {
    const p = Math.ceil(this.#next / this.#alignment) * this.#alignment;
    this.#next = p + size + 3; // a gap, so that a byte written past a block's end is visible
    this.live.set(p, size);
    return p;
  }

  calloc(nelem: number, elsize: number): number {
    const p = this.malloc(nelem * elsize);
    this.memory.u8.fill(0, p, p + nelem * elsize);
    return p;
  }

  realloc(ptr: number, size: number): number {
    const old = this.live.get(ptr);
    if (old === undefined) throw new Error(`cursor: realloc of unknown ${ptr}`);
    if (this.failRealloc) return 0;
    const q = this.malloc(size);
    this.memory.u8.copyWithin(q, ptr, ptr + Math.min(old, size));
    this.free(ptr);
    return q;
  }

  free(ptr: number): void {
    if (!this.live.delete(ptr)) throw new Error(`cursor: free of unknown ${ptr}`);
  }
}

const layouts: DebugLayoutName[] = ["64-bit", "wasm32"];

/** Every guard byte of a block of `n` bytes, as an offset from its data address. */
function guardOffsets(sst: number, n: number): number[] {
  const offsets: number[] = [];
  for (let i = -sst; i < 0; i++) offsets.push(i);
  for (let i = 0; i < sst; i++) offsets.push(n + i);
  return offsets;
}

/** The message CPython's check gives for a bad byte at `offset` from the data. */
function expectedMessage(offset: number, sst: number, bad: number, api: string): string {
  if (offset === -sst) return `debugRawFree: bad ID: Allocated using API '${String.fromCharCode(bad)}', verified using API '${api}'`;
  return offset < 0 ? "debugRawFree: bad leading pad byte" : "debugRawFree: bad trailing pad byte";
}

describe("a single damaged guard byte", () => {
  it.each(layouts)("is found at every offset of the id and both pads, for sizes 0..40, aligned or not (%s)", { timeout: 120_000 }, (layout) => {
    const { sst } = DebugLayouts[layout];
    // 4-byte aligned blocks take the word path (the sizes 0..40 put their trailer at every offset
    // from a word); blocks at an odd address take the byte path
    for (const shift of [0, 1]) {
      const cursor = new Cursor(1);
      const hooks = withDebugHooks(cursor, { api: "m", layout });
      const u8 = cursor.memory.u8;
      for (let n = 0; n <= 40; n++) {
        cursor.skipTo(shift);
        const p = hooks.malloc(n);
        expect(p % 4).toBe(shift);
        for (const offset of guardOffsets(sst, n)) {
          const bad = offset === -sst ? 0x78 : 0xfc; // 'x' for the id; one bit off 0xFD for a pad
          const kept = u8[p + offset]!;
          u8[p + offset] = bad;
          const before = u8.slice(p - 64, p + n + 64);
          const error = corruption(() => hooks.free(p));
          expect(error.message).toBe(expectedMessage(offset, sst, bad, "m"));
          // the report is the dump of the block as it is, then CPython's last lines
          expect(error.report).toBe(`${dumpDebugBlock(cursor.memory, p, false, layout)}${ENABLE_TRACEMALLOC}\n\nFatal tsmalloc error: ${error.message}\n`);
          if (offset >= 0) expect(error.report).toContain(`at tail+${offset - n}: 0xfc *** OUCH`);
          else if (offset > -sst) expect(error.report).toContain(`at p-${-offset}: 0xfc *** OUCH`);
          // the hooks write nowhere but in the block: around it is enough to see that nothing changed
          expect(u8.subarray(p - 64, p + n + 64)).toEqual(before);
          u8[p + offset] = kept;
        }
        hooks.free(p);
        expectFilled(cursor.memory, p - 2 * sst, n + 3 * sst, 0xdd);
      }
    }
  });

  it("is found by usableSize and realloc too, in the word path and the byte path", () => {
    for (const shift of [0, 2]) {
      const cursor = new Cursor(1);
      const hooks = withDebugHooks(cursor, { api: "o" });
      cursor.skipTo(shift);
      const p = hooks.malloc(13);
      cursor.memory.u8[p + 13 + 7] = 0;
      expect(corruption(() => hooks.usableSize(p)).message).toBe("debugUsableSize: bad trailing pad byte");
      expect(corruption(() => hooks.realloc(p, 5)).message).toBe("debugRawRealloc: bad trailing pad byte");
      cursor.memory.u8[p + 13 + 7] = 0xfd;
      expect(hooks.usableSize(p)).toBe(13);
    }
  });

  it("is not mistaken for a bad guard when it is a data byte, whatever the data", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...layouts),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 1, max: 300 }),
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        (layout, shift, n, at, byte) => {
          const cursor = new Cursor(1);
          const hooks = withDebugHooks(cursor, { api: "r", layout });
          cursor.skipTo(shift);
          const p = hooks.malloc(n);
          cursor.memory.u8[p + (at % n)] = byte; // the data's own bytes may be anything, 0xFD too
          expect(hooks.usableSize(p)).toBe(n);
          hooks.free(p);
          expect(cursor.live.size).toBe(1); // the state block
        },
      ),
    );
  });
});

describe("the fills and the header", () => {
  it("write exactly the block, in every alignment, on a plain and on a shared memory, with and without serial numbers", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...layouts),
        fc.boolean(),
        fc.boolean(),
        fc.integer({ min: 0, max: 3 }),
        fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 41, max: 600 })),
        (layout, shared, serialNumbers, shift, n) => {
          const cursor = new Cursor(1, new LinearMemory({ shared }));
          const hooks = withDebugHooks(cursor, { api: "m", layout, serialNumbers, serialCounter: "new" });
          const { sst, headerBytes } = DebugLayouts[layout];
          cursor.skipTo(shift);
          const p = hooks.malloc(n);
          const u8 = cursor.memory.u8;
          const end = p + n + (serialNumbers ? 2 : 1) * sst;
          // a byte on either side of the block, where the hooks must not write
          u8[p - headerBytes - 1] = 0x11;
          u8[end] = 0x22;
          expectFilled(cursor.memory, p, n, 0xcd);
          expectFilled(cursor.memory, p - sst + 1, sst - 1, 0xfd);
          expectFilled(cursor.memory, p + n, sst, 0xfd);
          expect(u8[p - sst]).toBe(0x6d);
          expect(cursor.memory.dataView.getUint32(p - sst - 4, false)).toBe(n);
          if (sst === 8) expect(cursor.memory.dataView.getUint32(p - 16, false)).toBe(0);
          if (serialNumbers) expect(cursor.memory.dataView.getUint32(p + n + 2 * sst - 4, false)).toBe(1);
          hooks.free(p);
          expectFilled(cursor.memory, p - headerBytes, end - (p - headerBytes), 0xdd);
          expect(u8[p - headerBytes - 1]).toBe(0x11);
          expect(u8[end]).toBe(0x22);
        },
      ),
    );
  });
});

describe("realloc's saved bytes", () => {
  it("are put back exactly when the wrapped realloc fails, for sizes 0..140 in every alignment, with serial numbers", () => {
    for (const layout of layouts) {
      const { headerBytes, extraBytesSerial } = DebugLayouts[layout];
      const cursor = new Cursor(1);
      const hooks = withDebugHooks(cursor, { api: "r", layout, serialNumbers: true, serialCounter: "new" });
      for (let k = 0; k <= 4 * 140 + 3; k++) {
        const n = k >> 2;
        cursor.skipTo(k & 3);
        const p = hooks.malloc(n);
        for (let i = 0; i < n; i++) cursor.memory.u8[p + i] = (i * 13 + n) & 0xff;
        const start = p - headerBytes - 4;
        const before = cursor.memory.u8.slice(start, p + n + extraBytesSerial + 4);
        cursor.failRealloc = true;
        expect(hooks.realloc(p, n + 1000)).toBe(0);
        cursor.failRealloc = false;
        expect(cursor.memory.u8.subarray(start, p + n + extraBytesSerial + 4)).toEqual(before);
        hooks.free(p);
      }
    }
  });

  it("keep the data when the block moves, from and to every alignment", () => {
    fc.assert(
      fc.property(fc.constantFrom(...layouts), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 300 }), (layout, from, to, n, m) => {
        const cursor = new Cursor(1);
        const hooks = withDebugHooks(cursor, { api: "m", layout });
        cursor.skipTo(from);
        const p = hooks.malloc(n);
        for (let i = 0; i < n; i++) cursor.memory.u8[p + i] = (i * 7 + 1) & 0xff;
        cursor.skipTo(to);
        const q = hooks.realloc(p, m);
        expect(q % 4).toBe(to);
        for (let i = 0; i < Math.min(n, m); i++) expect(cursor.memory.u8[q + i]).toBe((i * 7 + 1) & 0xff);
        if (m > n) expectFilled(cursor.memory, q + n, m - n, 0xcd);
        expect(hooks.usableSize(q)).toBe(m);
        expectFilled(cursor.memory, p - DebugLayouts[layout].headerBytes, DebugLayouts[layout].headerBytes, 0xdd); // the old place, marked dead
        hooks.free(q);
      }),
    );
  });
});

describe("a double free", () => {
  it("is caught when the memory of the freed block went to a larger block since", () => {
    const memory = new LinearMemory();
    const hooks = withDebugHooks(new Malloc(memory), { api: "m" });
    const a = hooks.malloc(100);
    const b = hooks.malloc(100); // next to a
    const guard = hooks.malloc(100); // keeps the two from merging with the free space beyond
    hooks.free(a);
    hooks.free(b);
    const c = hooks.malloc(200); // where the two freed blocks were, merged
    const stale = [a, b].find((p) => p > c && p < c + 200);
    expect(stale).toBeDefined();
    const before = bytesOf(memory);
    // the stale pointer now points into c's data, which reads 0xCD: that is no header
    expect(corruption(() => hooks.free(stale!)).message).toBe("debugRawFree: bad ID: Allocated using API '\\xcd', verified using API 'm'");
    expect(corruption(() => hooks.realloc(stale!, 10)).func).toBe("debugRawRealloc");
    // nor is anything the program wrote there
    memory.u8.fill(0x41, c, c + 200);
    expect(corruption(() => hooks.free(stale!)).message).toBe("debugRawFree: bad ID: Allocated using API 'A', verified using API 'm'");
    memory.u8.fill(0xcd, c, c + 200);
    expectBytesUnchanged(memory, before);
    hooks.free(c);
    // and the plain double free, on a page the hooks have freed blocks on already
    expect(corruption(() => hooks.free(c)).message).toBe("debugRawFree: bad ID: Allocated using API '\\xdd', verified using API 'm'");
    hooks.free(guard);
  });
});

describe("a block of another heap with a valid header", () => {
  // (refused on a page the hooks never asked about: bad-input.test.ts)
  it("is refused on a page the hooks knew, once the memory gave that page to another heap", () => {
    // two Malloc heaps in one memory, each in RAW hooks
    const memory = new LinearMemory();
    const heapA = new Malloc(memory);
    const a = withDebugHooks(heapA);
    const b = withDebugHooks(new Malloc(memory, { register: false }));
    const big = 2 << 20; // a region of its own, unmapped when freed
    const x = a.malloc(big);
    a.free(x); // a has now seen a block of its heap on this page
    const y = b.malloc(big); // b's heap maps the same pages
    expect(y).toBe(x);
    expect(heapA.owns(y - 16)).toBe(false);
    const before = bytesOf(memory);
    expectError(() => a.free(y), ErrorCode.InvalidPointer);
    expectError(() => a.realloc(y, 10), ErrorCode.InvalidPointer);
    expectBytesUnchanged(memory, before);
    b.free(y);
  });
});
