/*
 * CPython's `_PyMem_IsPtrFreed` and `_PyObject_IsFreed`: recognise the debug hooks' fill
 * patterns where a pointer should be. A pointer read from a block the hooks poisoned is
 * 0xCDCD... (allocated, never written), 0xDDDD... (freed) or 0xFDFD... (the pad past the end).
 */
import { type LinearMemory, requireAddress } from "@tsmalloc/memory";
import { CLEANBYTE, DEADBYTE, FORBIDDENBYTE } from "./constants.ts";
import { type DebugLayoutName, resolveDebugLayout } from "./debug-layout.ts";
import { optionError } from "./errors.ts";
import { isLinearMemory } from "./options.ts";

const CLEAN_32 = 0xcdcdcdcd;
const DEAD_32 = 0xdddddddd;
const FORBIDDEN_32 = 0xfdfdfdfd;
const CLEAN_64 = 0xcdcdcdcdcdcdcdcdn;
const DEAD_64 = 0xddddddddddddddddn;
const FORBIDDEN_64 = 0xfdfdfdfdfdfdfdfdn;
const MIN_I64 = -(1n << 63n);
const LIMIT_U64 = 1n << 64n;

/**
 * True when `value`, a pointer read from memory, is NULL or one of the debug hooks' fill
 * patterns: a 32-bit word `0xCDCDCDCD`, `0xDDDDDDDD`, `0xFDFDFDFD` (a `number`, read through a
 * Uint32Array or an Int32Array), or the 64-bit `0xCDCD...CD`, `0xDDDD...DD`, `0xFDFD...FD` (a
 * `bigint`, read through a BigUint64Array or a BigInt64Array). 0 and 0n are true as well.
 *
 * @returns false for every other value, of any type; never throws
 */
export function isPtrFreed(value: number | bigint): boolean {
  if (typeof value === "number") {
    if (!Number.isInteger(value) || value < -2147483648 || value > 4294967295) return false;
    const word = value >>> 0;
    return word === 0 || word === CLEAN_32 || word === DEAD_32 || word === FORBIDDEN_32;
  }
  if (typeof value === "bigint") {
    if (value < MIN_I64 || value >= LIMIT_U64) return false;
    const word = BigInt.asUintN(64, value);
    return word === 0n || word === CLEAN_64 || word === DEAD_64 || word === FORBIDDEN_64;
  }
  return false;
}

/** True when the `size` bytes at `at` are all 0, all CLEANBYTE, all DEADBYTE or all FORBIDDENBYTE. */
function isFreedWord(u8: Uint8Array, at: number, size: number): boolean {
  const first = u8[at]!;
  if (first !== 0 && first !== CLEANBYTE && first !== DEADBYTE && first !== FORBIDDENBYTE) return false;
  for (let i = 1; i < size; i++) if (u8[at + i] !== first) return false;
  return true;
}

/**
 * CPython's `_PyObject_IsFreed`, for an object laid out as a `PyObject` of the platform `layout`
 * names: on `"64-bit"` (the default) an 8-byte reference count, then the 8-byte type pointer; on
 * `"wasm32"` 4 and 4. True when `ptr` itself is NULL or a fill pattern ({@link isPtrFreed}), or
 * when the word where the type pointer would be (`ptr + 8`, or `ptr + 4`) is 0 or a fill pattern.
 * Under the debug hooks that word reads `0xCDCD...` in a block never written, `0xFDFD...` when the
 * block is too small to hold it (the trailing pad), and `0xDDDD...` after the block was freed.
 *
 * Only bytes inside the memory are read: when that word lies (partly) past the memory's end, the
 * object cannot be told apart from a live one, and the answer is false.
 *
 * @returns true when the object looks freed
 * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_POINTER` when `ptr` is not an integer in
 *   [0, 2^32); `ERR_TSMALLOC_INVALID_OPTION` when `memory` is not a LinearMemory or `layout` is
 *   not a layout
 */
export function isFreed(memory: LinearMemory, ptr: number, layout: DebugLayoutName = "64-bit"): boolean {
  if (!isLinearMemory(memory)) throw optionError("isFreed", "memory must be a LinearMemory", memory);
  const { sst } = resolveDebugLayout(layout, "isFreed");
  requireAddress(ptr, "isFreed");
  return isObjectFreed(memory.u8, ptr, sst);
}

/** {@link isFreed} once its arguments are checked; `sst` is the pointer size. @internal */
export function isObjectFreed(u8: Uint8Array, ptr: number, sst: number): boolean {
  if (isPtrFreed(ptr)) return true;
  const at = ptr + sst;
  return at + sst <= u8.length && isFreedWord(u8, at, sst);
}
