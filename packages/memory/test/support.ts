/*
 * Helpers shared by the memory tests: error assertions, the backing stores a LinearMemory can be
 * built on, and fast whole-range byte checks.
 */
import { Buffer } from "node:buffer";
import { type ErrorCode, LinearMemory, type MemoryStats, PAGE_SIZE, type Region, TsmallocError, type WasmMemoryLike } from "@tsmalloc/memory";
import { expect } from "vitest";

export const MiB: number = 1024 * 1024;

/** Runs `fn`, expects it to throw a TsmallocError with `code`, and returns the error. */
export function expectError(fn: () => unknown, code: ErrorCode): TsmallocError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(TsmallocError);
  expect((caught as TsmallocError).code).toBe(code);
  return caught as TsmallocError;
}

/**
 * Runs `fn`, expects `code`, and expects that the region table and statistics did not change.
 */
export function expectRejected(memory: LinearMemory, fn: () => unknown, code: ErrorCode): TsmallocError {
  const before = snapshot(memory);
  const error = expectError(fn, code);
  expect(snapshot(memory)).toEqual(before);
  return error;
}

/** The region table and statistics, for before/after comparisons. */
export function snapshot(memory: LinearMemory): { regions: Region[]; stats: MemoryStats } {
  return { regions: memory.regions(), stats: memory.stats() };
}

/** The few WebAssembly declarations the tests need (neither ES2024 nor @types/node 20 has them). */
interface WasmMemoryConstructor {
  new (descriptor: { initial: number; maximum?: number; shared?: boolean }): WasmMemoryLike;
}

/** Creates a `WebAssembly.Memory` of `initial` pages, at most `maximum` pages. */
export function wasmMemory(initial: number, maximum: number, shared = false): WasmMemoryLike {
  const { Memory } = (globalThis as unknown as { WebAssembly: { Memory: WasmMemoryConstructor } }).WebAssembly;
  return new Memory({ initial, maximum, shared });
}

/** One way to back a memory, for tests that run over every backing. */
export interface Backing {
  readonly name: string;
  /** True when the memory can grow (up to `maximum` bytes). */
  readonly growable: boolean;
  /** True when the memory is a SharedArrayBuffer. */
  readonly shared: boolean;
  /** True when growth replaces the buffer and detaches the old one. */
  readonly detaches: boolean;
  /** A fresh memory that holds (or may grow to) `maximum` bytes. */
  create(maximum: number): LinearMemory;
}

/** Every kind of backing store a LinearMemory accepts. */
export const backings: readonly Backing[] = [
  { name: "WebAssembly.Memory (created)", growable: true, shared: false, detaches: true, create: (maximum) => new LinearMemory({ maximum }) },
  { name: "shared WebAssembly.Memory (created)", growable: true, shared: true, detaches: false, create: (maximum) => new LinearMemory({ maximum, shared: true }) },
  { name: "caller's WebAssembly.Memory", growable: true, shared: false, detaches: true, create: (maximum) => new LinearMemory({ wasmMemory: wasmMemory(1, maximum / PAGE_SIZE), maximum }) },
  { name: "caller's shared WebAssembly.Memory", growable: true, shared: true, detaches: false, create: (maximum) => new LinearMemory({ wasmMemory: wasmMemory(1, maximum / PAGE_SIZE, true), maximum }) },
  { name: "fixed ArrayBuffer", growable: false, shared: false, detaches: false, create: (maximum) => new LinearMemory({ buffer: new ArrayBuffer(maximum) }) },
  { name: "resizable ArrayBuffer", growable: true, shared: false, detaches: false, create: (maximum) => new LinearMemory({ buffer: new ArrayBuffer(0, { maxByteLength: maximum }) }) },
  { name: "fixed SharedArrayBuffer", growable: false, shared: true, detaches: false, create: (maximum) => new LinearMemory({ buffer: new SharedArrayBuffer(maximum) }) },
  { name: "growable SharedArrayBuffer", growable: true, shared: true, detaches: false, create: (maximum) => new LinearMemory({ buffer: new SharedArrayBuffer(0, { maxByteLength: maximum }) }) },
];

/**
 * True when all `size` bytes at `address` equal `value`. Compares the range with itself shifted
 * by one byte (a memcmp in Node), which is equal exactly when every byte equals the first.
 */
export function allBytes(memory: LinearMemory, address: number, size: number, value: number): boolean {
  if (size === 0) return true;
  const bytes = Buffer.from(memory.buffer, address, size);
  return bytes[0] === value && bytes.subarray(1).equals(bytes.subarray(0, size - 1));
}

/** The header region of a memory created at `base` (the first region past the host's pages). */
export function headerRegion(memory: LinearMemory): Region {
  return { address: memory.base, size: memory.headerBytes, owner: 1 };
}
