/*
 * Helpers shared by the malloc tests: error capture, heap snapshots for "nothing changed"
 * assertions, byte patterns, and the few layout facts the tests rely on.
 */
import type { Malloc, MallocStats } from "@tsmalloc/malloc";
import { type ErrorCode, type LinearMemory, PAGE_SIZE, type Region, TsmallocError } from "@tsmalloc/memory";
import { findMismatch } from "@tsmalloc/testkit";
import { expect } from "vitest";

/** Bytes of block header before every payload. */
export const HEADER = 8;
/** Bytes before a large block's payload (region record and block header). */
export const LARGE_OFFSET = 32;
/** Bytes of the default segment. */
export const SEGMENT: number = 256 << 10;
/** One mebibyte: the default mmap threshold. */
export const MiB: number = 1 << 20;

/** The block size (header included) that serves a request of `n` bytes from a segment. */
export function blockSizeFor(n: number): number {
  return Math.max(16, Math.ceil((Math.max(n, 1) + HEADER) / 16) * 16);
}

/** `bytes` rounded up to whole 64 KiB pages. */
export function pages(bytes: number): number {
  return Math.ceil(bytes / PAGE_SIZE) * PAGE_SIZE;
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
    expect(error.address).toBe(address);
    expect(error.message).toContain(`0x${address.toString(16)}`);
  }
  return error;
}

/** Expects heap.check() to find nothing wrong (showing the problems when it does). */
export function expectHeapOk(heap: Malloc): void {
  const result = heap.check();
  expect(result.problems).toEqual([]);
  expect(result.ok).toBe(true);
}

/** Everything observable about a heap, to show that a call changed nothing. */
export interface Snapshot {
  readonly stats: MallocStats;
  readonly regions: Region[];
  readonly bytes: Uint8Array;
}

export function snapshot(heap: Malloc): Snapshot {
  return { stats: heap.stats(), regions: heap.memory.regions(), bytes: heap.memory.u8.slice() };
}

/** Expects the heap to be exactly as `before` (stats, regions, every byte) and valid. */
export function expectUnchanged(heap: Malloc, before: Snapshot): void {
  const after = snapshot(heap);
  expect(after.stats).toEqual(before.stats);
  expect(after.regions).toEqual(before.regions);
  expect(after.bytes.length).toBe(before.bytes.length);
  expect(Buffer.compare(after.bytes, before.bytes), "memory bytes changed").toBe(0);
  expectHeapOk(heap);
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

/** The mapped regions of `owner`. */
export function regionsOf(memory: LinearMemory, owner: number): Region[] {
  return memory.regions().filter((r) => r.owner === owner);
}
