/*
 * Helpers shared by the bad-input, property, replay, out-of-memory, attach and check tests:
 * a heap factory, error capture, byte snapshots of the whole memory for "exactly as before"
 * assertions, fills, and raw-allocator doubles that fail on demand.
 */
import { Malloc } from "@tsmalloc/malloc";
import { type Allocator, type ErrorCode, type HeapCheck, LinearMemory, type Region, RegionOwner, TsmallocError } from "@tsmalloc/memory";
import { type ArenaAllocator, Pymalloc, type PymallocOptions } from "@tsmalloc/pymalloc";
import { findMismatch } from "@tsmalloc/testkit";
import { expect } from "vitest";

/** A pymalloc heap over a Malloc over one memory. */
export interface Heap {
  readonly memory: LinearMemory;
  readonly raw: Malloc;
  readonly obj: Pymalloc;
}

/** A new heap: pymalloc over a Malloc over `memory` (a new growable memory when omitted). */
export function makeHeap(options: PymallocOptions = {}, memory: LinearMemory = new LinearMemory()): Heap {
  const raw = new Malloc(memory);
  return { memory, raw, obj: new Pymalloc(raw, options) };
}

/** A memory on a fixed-size ArrayBuffer of `bytes` bytes: it can never grow. */
export function fixedMemory(bytes: number): LinearMemory {
  return new LinearMemory({ buffer: new ArrayBuffer(bytes) });
}

/** Runs `fn` and returns the TsmallocError it throws; anything else fails the test. */
export function thrown(fn: () => unknown): TsmallocError {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  if (error === undefined) throw new Error("expected a TsmallocError, but nothing was thrown");
  if (!(error instanceof TsmallocError)) throw new Error(`expected a TsmallocError, got ${String(error)}`);
  return error;
}

/**
 * Expects `fn` to throw a TsmallocError with `code`; with `address`, also that the error carries
 * it and its message names it in hex.
 */
export function expectError(fn: () => unknown, code: ErrorCode, address?: number): TsmallocError {
  const error = thrown(fn);
  expect(error.code, error.message).toBe(code);
  if (address !== undefined) {
    expect(error.address, error.message).toBe(address);
    expect(error.message).toContain(`0x${address.toString(16)}`);
  }
  return error;
}

/** Expects `heap.check()` to find nothing wrong (showing the problems when it does). */
export function expectHeapOk(heap: { check(): HeapCheck }): void {
  const result = heap.check();
  expect(result.problems).toEqual([]);
  expect(result.ok).toBe(true);
}

/** A copy of every byte of the memory: state block, arenas, the raw heap and the memory's header. */
export function snapshot(memory: LinearMemory): Uint8Array {
  return memory.u8.slice();
}

/** Expects every byte of the memory to be as in `before` (and the memory not to have grown). */
export function expectSameBytes(memory: LinearMemory, before: Uint8Array): void {
  const after = memory.u8;
  expect(after.length, "the memory grew").toBe(before.length);
  if (Buffer.compare(after, before) !== 0) {
    let at = 0;
    while (after[at] === before[at]) at++;
    expect.fail(`memory byte 0x${at.toString(16)} changed from ${before[at]} to ${after[at]}`);
  }
}

/** Expects the memory byte-identical to `before` and both heaps valid. */
export function expectUnchanged(heap: Heap, before: Uint8Array): void {
  expectSameBytes(heap.memory, before);
  expectHeapOk(heap.obj);
  expectHeapOk(heap.raw);
}

/** The bytes of every mapped region but the memory's own header, and the regions themselves. */
export interface MappedSnapshot {
  readonly regions: Region[];
  readonly bytes: Uint8Array[];
}

export function snapshotMapped(memory: LinearMemory): MappedSnapshot {
  const regions = memory.regions().filter((r) => r.owner !== RegionOwner.Memory);
  return { regions, bytes: regions.map((r) => memory.u8.slice(r.address, r.address + r.size)) };
}

/**
 * Expects the same regions mapped, each byte-identical, and both heaps valid: the heap is exactly
 * as before even if the memory grew (or its header changed) because an arena was mapped and given
 * back in between.
 */
export function expectSameHeap(heap: Heap, before: MappedSnapshot): void {
  const after = snapshotMapped(heap.memory);
  expect(after.regions).toEqual(before.regions);
  before.regions.forEach((r, i) => {
    if (Buffer.compare(after.bytes[i]!, before.bytes[i]!) !== 0) {
      let at = 0;
      while (after.bytes[i]![at] === before.bytes[i]![at]) at++;
      expect.fail(`byte 0x${(r.address + at).toString(16)} changed from ${before.bytes[i]![at]} to ${after.bytes[i]![at]}`);
    }
  });
  expectHeapOk(heap.obj);
  expectHeapOk(heap.raw);
}

/** Fills `n` bytes at `p` with `byte`. */
export function fill(memory: LinearMemory, p: number, n: number, byte: number): void {
  memory.u8.fill(byte, p, p + n);
}

/** Expects all `n` bytes at `p` to be `byte`. */
export function expectFilled(memory: LinearMemory, p: number, n: number, byte: number): void {
  const at = findMismatch(memory.u8, p, n, byte);
  expect(at < 0 ? "intact" : `0x${p.toString(16)}+${at - p} is ${memory.u8[at]}, expected ${byte}`).toBe("intact");
}

/** `n` rounded up to the block size of its class (`INDEX2SIZE(SIZE_CLASS(n))`). */
export function classSizeFor(n: number, alignment = 16): number {
  return Math.ceil(n / alignment) * alignment;
}

/** What a {@link FlakyRaw} refuses while its switch is on. */
export interface Refusals {
  malloc: boolean;
  calloc: boolean;
  realloc: boolean;
}

/**
 * A raw allocator that forwards to a Malloc but returns 0 from the calls switched on in
 * `refuse` (and counts every call), to make pymalloc's raw requests fail on demand.
 */
export class FlakyRaw implements Allocator {
  readonly name: string = "flaky";
  readonly memory: LinearMemory;
  readonly inner: Malloc;
  readonly refuse: Refusals = { malloc: false, calloc: false, realloc: false };
  readonly calls: Record<"malloc" | "calloc" | "realloc" | "free", number> = { malloc: 0, calloc: 0, realloc: 0, free: 0 };

  constructor(inner: Malloc) {
    this.inner = inner;
    this.memory = inner.memory;
  }

  /** Refuse every allocating call (true) or none (false). */
  refuseAll(on: boolean): void {
    this.refuse.malloc = on;
    this.refuse.calloc = on;
    this.refuse.realloc = on;
  }

  malloc(size: number): number {
    this.calls.malloc++;
    return this.refuse.malloc ? 0 : this.inner.malloc(size);
  }

  calloc(nelem: number, elsize: number): number {
    this.calls.calloc++;
    return this.refuse.calloc ? 0 : this.inner.calloc(nelem, elsize);
  }

  realloc(p: number, size: number): number {
    this.calls.realloc++;
    return this.refuse.realloc ? 0 : this.inner.realloc(p, size);
  }

  free(p: number): void {
    this.calls.free++;
    this.inner.free(p);
  }

  usableSize(p: number): number {
    return this.inner.usableSize(p);
  }

  check(): HeapCheck {
    return this.inner.check();
  }
}

/**
 * An arena allocator that forwards to `inner` (the heap's default one) unless `mode` says to
 * return 0 or to throw; counts the calls.
 */
export class SwitchableArenas implements ArenaAllocator {
  mode: "pass" | "refuse" | "throw" = "pass";
  allocs = 0;
  frees = 0;
  readonly #inner: ArenaAllocator;

  constructor(inner: ArenaAllocator) {
    this.#inner = inner;
  }

  alloc(size: number): number {
    this.allocs++;
    if (this.mode === "refuse") return 0;
    if (this.mode === "throw") throw new Error("the arena allocator is broken");
    return this.#inner.alloc(size);
  }

  free(address: number, size: number): void {
    this.frees++;
    this.#inner.free(address, size);
  }
}

/** Hex, for messages. */
export function hex(n: number): string {
  return `0x${n.toString(16)}`;
}
