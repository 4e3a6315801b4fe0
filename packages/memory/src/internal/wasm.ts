/*
 * The few WebAssembly declarations tsmalloc needs. TypeScript declares `WebAssembly` only in the
 * DOM library, and @types/node 20 does not declare it at all; declaring the shape here keeps the
 * packages usable from any environment without either. A real `WebAssembly.Memory` satisfies it.
 */

/** The part of `WebAssembly.Memory` tsmalloc uses. Any real `WebAssembly.Memory` is one. */
export interface WasmMemoryLike {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  grow(deltaPages: number): number;
}

interface WasmMemoryConstructor {
  new (descriptor: { initial: number; maximum?: number; shared?: boolean }): WasmMemoryLike;
}

/** `WebAssembly.Memory`, or undefined where the platform has no WebAssembly. */
export function wasmMemoryConstructor(): WasmMemoryConstructor | undefined {
  const wasm = (globalThis as { WebAssembly?: { Memory?: WasmMemoryConstructor } }).WebAssembly;
  return wasm?.Memory;
}

/** True when `value` looks like a `WebAssembly.Memory` (has a `buffer` and a `grow`). */
export function isWasmMemoryLike(value: unknown): value is WasmMemoryLike {
  if (typeof value !== "object" || value === null) return false;
  const candidate = value as { buffer?: unknown; grow?: unknown };
  return typeof candidate.grow === "function" && isBuffer(candidate.buffer);
}

/** True for an ArrayBuffer or a SharedArrayBuffer (where the platform has one). */
export function isBuffer(value: unknown): value is ArrayBuffer | SharedArrayBuffer {
  return (
    value instanceof ArrayBuffer ||
    (typeof SharedArrayBuffer !== "undefined" && value instanceof SharedArrayBuffer)
  );
}

/** True for a SharedArrayBuffer. */
export function isSharedBuffer(value: unknown): value is SharedArrayBuffer {
  return typeof SharedArrayBuffer !== "undefined" && value instanceof SharedArrayBuffer;
}
