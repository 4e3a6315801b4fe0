/*
 * The hooks wrap any Allocator, not only Malloc: here a tiny bump allocator (a test double with
 * none of the optional calls, 8-byte aligned blocks, and no reuse of freed memory, so that every
 * byte the hooks write on free stays visible).
 */
import { type Allocator, ErrorCode, LinearMemory } from "@tsmalloc/memory";
import { withDebugHooks } from "@tsmalloc/debug";
import { Pymalloc } from "@tsmalloc/pymalloc";
import { describe, expect, it } from "vitest";
import { bytesOf, corruption, expectBlock, expectBytesUnchanged, expectError, expectFilled, fillPattern, patternMismatch } from "./helpers.ts";

/** Hands out `alignment`-aligned blocks from one region, upwards; never reuses anything. */
class Bump implements Allocator {
  readonly name = "bump";
  readonly memory: LinearMemory;
  readonly live = new Map<number, number>();
  readonly freed: number[] = [];
  #next: number;
  readonly #end: number;
  readonly #alignment: number;
  /** Calls to fail on purpose (counted down on malloc, calloc and realloc). */
  failAfter = Infinity;

  constructor(bytes: number, alignment: number, offset = 0) {
    this.memory = new LinearMemory();
    const region = this.memory.map(bytes);
    this.#next = region + offset;
    this.#end = region + bytes;
    this.#alignment = alignment;
  }

  malloc(size: number): number {
    if (this.failAfter-- <= 0) return 0;
    const p = Math.ceil(this.#next / this.#alignment) * this.#alignment;
    if (p + size > this.#end) return 0;
    this.#next = p + Math.max(size, 1);
    this.live.set(p, size);
    return p;
  }

  calloc(nelem: number, elsize: number): number {
    const p = this.malloc(nelem * elsize);
    if (p !== 0) this.memory.u8.fill(0, p, p + nelem * elsize);
    return p;
  }

  realloc(ptr: number, size: number): number {
    if (ptr === 0) return this.malloc(size);
    const old = this.live.get(ptr);
    if (old === undefined) throw new Error(`bump: realloc of unknown 0x${ptr.toString(16)}`);
    const q = this.malloc(size);
    if (q === 0) return 0;
    this.memory.u8.copyWithin(q, ptr, ptr + Math.min(old, size));
    this.free(ptr);
    return q;
  }

  free(ptr: number): void {
    if (!this.live.delete(ptr)) throw new Error(`bump: free of unknown 0x${ptr.toString(16)}`);
    this.freed.push(ptr);
  }
}

describe("hooks around a bump allocator", () => {
  it("work for each API, keep the allocator's alignment, and catch an overflow", () => {
    for (const api of ["r", "m", "o"] as const) {
      const bump = new Bump(1 << 16, 8, 8);
      const hooks = withDebugHooks(bump, { api });
      expect(hooks.name).toBe("bump_debug");
      const p = hooks.malloc(13);
      expect(p % 16).toBe(8); // the bump's 8-byte alignment, 16 bytes further
      expectBlock(bump.memory, p, 13, api);
      expectFilled(bump.memory, p, 13, 0xcd);
      bump.memory.u8[p + 13] = 0x78;
      expect(corruption(() => hooks.free(p)).message).toBe("debugRawFree: bad trailing pad byte");
      bump.memory.u8[p + 13] = 0xfd;
      hooks.free(p);
      expect(bump.freed).toEqual([p - 16]);
    }
  });

  it("fill the whole freed block with 0xDD, and catch its double free", () => {
    const bump = new Bump(1 << 16, 16);
    const hooks = withDebugHooks(bump, { serialNumbers: true });
    const p = hooks.malloc(50);
    hooks.free(p);
    expectFilled(bump.memory, p - 16, 16 + 50 + 16, 0xdd);
    const before = bytesOf(bump.memory);
    const error = corruption(() => hooks.free(p));
    expect(error.message).toBe("debugRawFree: bad ID: Allocated using API '\\xdd', verified using API 'r'");
    expect(error.report).toContain("    15987178197214944733 bytes originally requested\n"); // 0xDDDDDDDDDDDDDDDD
    expectBytesUnchanged(bump.memory, before);
  });

  it("calloc through the allocator's calloc(1, n + 24), realloc by moving", () => {
    const bump = new Bump(1 << 16, 16);
    const hooks = withDebugHooks(bump);
    bump.memory.u8.fill(0xee, 0, bump.memory.byteLength);
    const c = hooks.calloc(7, 3);
    expect(bump.live.get(c - 16)).toBe(21 + 24);
    expectFilled(bump.memory, c, 21, 0);
    fillPattern(bump.memory, c, 21, 1);
    const r = hooks.realloc(c, 300);
    expect(r).toBeGreaterThan(c);
    expect(patternMismatch(bump.memory, r, 21, 1)).toBe(-1);
    expectFilled(bump.memory, r + 21, 279, 0xcd);
    expectBlock(bump.memory, r, 300, "r");
    // the old block went back erased at both ends (all of it: 21 bytes are fewer than 128)
    expectFilled(bump.memory, c - 16, 21 + 24, 0xdd);
  });

  it("return 0 when the allocator does, and leave a block whose realloc failed exactly as it was", () => {
    const bump = new Bump(1 << 16, 16);
    const hooks = withDebugHooks(bump, { serialNumbers: true });
    const p = hooks.malloc(500);
    fillPattern(bump.memory, p, 500, 4);
    bump.failAfter = 0;
    expect(hooks.malloc(1)).toBe(0);
    expect(hooks.calloc(1, 1)).toBe(0);
    const before = bytesOf(bump.memory);
    expect(hooks.realloc(p, 1000)).toBe(0);
    expectBytesUnchanged(bump.memory, before);
    bump.failAfter = Infinity;
    expect(hooks.malloc(65_000)).toBe(0); // does not fit the region
    hooks.free(p);
  });

  it("have no stats or check to pass through, and own nothing", () => {
    const hooks = withDebugHooks(new Bump(1 << 16, 16));
    const p = hooks.malloc(1);
    expect(hooks.owns(p)).toBe(false);
    expectError(() => hooks.stats(), ErrorCode.InvalidOption);
    expectError(() => hooks.check(), ErrorCode.InvalidOption);
    expect(hooks.usableSize(p)).toBe(1);
  });

  it("need the allocator to provide a 4-byte aligned state block", () => {
    const empty = new Bump(1 << 16, 16);
    empty.failAfter = 0;
    expectError(() => withDebugHooks(empty), ErrorCode.OutOfMemory);
    const odd = new Bump(1 << 16, 1, 3);
    expectError(() => withDebugHooks(odd), ErrorCode.InvalidOption);
    expect(odd.live.size).toBe(0); // the misaligned block went back
  });
});

describe("hooks around pymalloc whose raw allocator cannot size its blocks", () => {
  // pymalloc has usableSize, but for a large block it asks its raw allocator, which here has none
  // (ERR_TSMALLOC_INVALID_OPTION): the hooks then go on without asking, as for any allocator
  // without usableSize, instead of refusing to free or resize the block
  it("free and realloc large blocks; small blocks are still checked with pymalloc", () => {
    const bump = new Bump(1 << 20, 16);
    const obj = new Pymalloc(bump);
    const hooks = withDebugHooks(obj, { api: "o" });
    const large = hooks.malloc(1000);
    expectError(() => obj.usableSize(large - 16), ErrorCode.InvalidOption);
    fillPattern(bump.memory, large, 1000, 7);
    const moved = hooks.realloc(large, 3000);
    expect(moved).not.toBe(0);
    expect(patternMismatch(bump.memory, moved, 1000, 7)).toBe(-1);
    hooks.free(moved);
    expect(bump.live.has(moved - 16)).toBe(false);
    const small = hooks.malloc(16);
    hooks.free(small);
    expect(obj.allocatedBlocks()).toBe(1); // the hooks' state block
  });
});
