/*
 * Helpers shared by the debug-hook tests: hooks over a fresh Malloc heap, error capture, the
 * expected lines of CPython's reports, and snapshots for "nothing changed" assertions.
 */
import { type DebugAllocator, DebugCorruptionError, type DebugHookOptions, withDebugHooks } from "@tsmalloc/debug";
import { Malloc } from "@tsmalloc/malloc";
import { type ErrorCode, formatAddress, LinearMemory, type LinearMemoryOptions, TsmallocError } from "@tsmalloc/memory";
import { expect } from "vitest";

/** Hooks over a new Malloc heap on a new memory. */
export function hooked(options: DebugHookOptions = {}, memoryOptions: LinearMemoryOptions = {}): { heap: Malloc; hooks: DebugAllocator } {
  const heap = new Malloc(new LinearMemory(memoryOptions));
  return { heap, hooks: withDebugHooks(heap, options) };
}

/** Runs `fn` and returns what it throws; fails when it throws nothing. */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected an error, but nothing was thrown");
}

/** Runs `fn` and returns the DebugCorruptionError it throws; anything else fails the test. */
export function corruption(fn: () => unknown): DebugCorruptionError {
  const error = thrown(fn);
  if (!(error instanceof DebugCorruptionError)) throw new Error(`expected a DebugCorruptionError, got ${String(error)}`);
  return error;
}

/** Expects `fn` to throw a TsmallocError (not a corruption report) with `code`. */
export function expectError(fn: () => unknown, code: ErrorCode): TsmallocError {
  const error = thrown(fn);
  if (!(error instanceof TsmallocError)) throw new Error(`expected a TsmallocError, got ${String(error)}`);
  expect(error.code, error.message).toBe(code);
  return error;
}

/** The lines of a report (it ends with a newline, which gives no line of its own). */
export function lines(report: string): string[] {
  expect(report.endsWith("\n")).toBe(true);
  return report.slice(0, -1).split("\n");
}

/** The 7 lines of leading pad bytes, with `bad` at p-i for the given i. */
export function leadingLines(bad: ReadonlyMap<number, number> = new Map()): string[] {
  if (bad.size === 0) return ["    The 7 pad bytes at p-7 are FORBIDDENBYTE, as expected."];
  const out = ["    The 7 pad bytes at p-7 are not all FORBIDDENBYTE (0xfd):"];
  for (let i = 7; i >= 1; i--) {
    const byte = bad.get(i);
    out.push(byte === undefined ? `        at p-${i}: 0xfd` : `        at p-${i}: 0x${byte.toString(16).padStart(2, "0")} *** OUCH`);
  }
  out.push("    Because memory is corrupted at the start, the count of bytes requested");
  out.push("       may be bogus, and checking the trailing pad bytes may segfault.");
  return out;
}

/** The lines of the trailing pad bytes at `tail`, with `bad` at tail+i for the given i. */
export function trailingLines(tail: number, bad: ReadonlyMap<number, number> = new Map()): string[] {
  if (bad.size === 0) return [`    The 8 pad bytes at tail=${formatAddress(tail)} are FORBIDDENBYTE, as expected.`];
  const out = [`    The 8 pad bytes at tail=${formatAddress(tail)} are not all FORBIDDENBYTE (0xfd):`];
  for (let i = 0; i < 8; i++) {
    const byte = bad.get(i);
    out.push(byte === undefined ? `        at tail+${i}: 0xfd` : `        at tail+${i}: 0x${byte.toString(16).padStart(2, "0")} *** OUCH`);
  }
  return out;
}

/** The line CPython prints when tracemalloc is off. */
export const ENABLE_TRACEMALLOC = "Enable tracemalloc to get the memory block allocation traceback";

/** `count` copies of a two-digit hex byte, space separated. */
export function hexRun(byte: number, count: number): string {
  return Array.from({ length: count }, () => byte.toString(16).padStart(2, "0")).join(" ");
}

/** A copy of every byte of the memory, to show that a call changed nothing. */
export function bytesOf(memory: LinearMemory): Uint8Array {
  return memory.u8.slice();
}

/** Expects the memory to hold exactly `before`. */
export function expectBytesUnchanged(memory: LinearMemory, before: Uint8Array): void {
  const after = memory.u8;
  expect(after.length).toBe(before.length);
  let first = -1;
  for (let i = 0; i < after.length; i++) {
    if (after[i] !== before[i]) {
      first = i;
      break;
    }
  }
  expect(first < 0 ? "unchanged" : `byte ${formatAddress(first)} changed from ${before[first]} to ${after[first]}`).toBe("unchanged");
}

/** Expects heap.check() to find nothing wrong. */
export function expectHeapOk(heap: { check(): { ok: boolean; problems: readonly unknown[] } }): void {
  const result = heap.check();
  expect(result.problems).toEqual([]);
  expect(result.ok).toBe(true);
}

/** Expects all `n` bytes at `p` to be `byte`. */
export function expectFilled(memory: LinearMemory, p: number, n: number, byte: number): void {
  const u8 = memory.u8;
  let at = -1;
  for (let i = p; i < p + n; i++) {
    if (u8[i] !== byte) {
      at = i;
      break;
    }
  }
  expect(at < 0 ? "filled" : `${formatAddress(p)}+${at - p} is 0x${u8[at]!.toString(16)}, expected 0x${byte.toString(16)}`).toBe("filled");
}

/** The 8-byte big-endian word at `at`, as a bigint. */
export function readBigEndian(memory: LinearMemory, at: number): bigint {
  return memory.dataView.getBigUint64(at, false);
}

/**
 * Expects a well-formed debug block of `n` bytes at `p`: the big-endian size, the API id, the 7
 * leading and 8 trailing pad bytes.
 */
export function expectBlock(memory: LinearMemory, p: number, n: number, api: string): void {
  expect(readBigEndian(memory, p - 16)).toBe(BigInt(n));
  const u8 = memory.u8;
  expect(String.fromCharCode(u8[p - 8]!)).toBe(api);
  expect([...u8.subarray(p - 7, p)]).toEqual([0xfd, 0xfd, 0xfd, 0xfd, 0xfd, 0xfd, 0xfd]);
  expect([...u8.subarray(p + n, p + n + 8)]).toEqual([0xfd, 0xfd, 0xfd, 0xfd, 0xfd, 0xfd, 0xfd, 0xfd]);
}

/** Fills `n` bytes at `p` with a pattern that differs from byte to byte (never 0xCD/0xDD/0xFD). */
export function fillPattern(memory: LinearMemory, p: number, n: number, seed: number): void {
  const u8 = memory.u8;
  for (let i = 0; i < n; i++) u8[p + i] = patternAt(i, seed);
}

/** The byte {@link fillPattern} writes at offset `i`. */
export function patternAt(i: number, seed: number): number {
  return ((i * 7 + seed) % 199) + 1;
}

/** The offset of the first byte in [p, p + n) that differs from the pattern, or -1. */
export function patternMismatch(memory: LinearMemory, p: number, n: number, seed: number): number {
  const u8 = memory.u8;
  for (let i = 0; i < n; i++) if (u8[p + i] !== patternAt(i, seed)) return i;
  return -1;
}
