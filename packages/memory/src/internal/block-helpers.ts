/*
 * Helpers on blocks of a memory: typed views of a range, a subarray, memset and memmove, each
 * refusing a range that leaves the memory. LinearMemory's view, bytes, fill and copy are these.
 */
import { ErrorCode, TsmallocError } from "../errors.ts";
import type { TypedArrayConstructorOf } from "../memory-types.ts";
import { describeValue, formatAddress, requireAddress, requireSize } from "../validate.ts";

/** What the helpers need of a memory: its current bytes and length (a LinearMemory). */
export interface BlockHost {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  readonly byteLength: number;
  readonly u8: Uint8Array;
}

/** Throws unless [address, address + length) lies in the memory. */
function requireRange(memory: BlockHost, address: number, length: number, fn: string): void {
  requireAddress(address, fn, "address");
  if (address + length > memory.byteLength) {
    throw new TsmallocError(ErrorCode.InvalidPointer, `${fn}: [${formatAddress(address)}, +${length}) is outside the memory (${memory.byteLength} bytes)`, { address });
  }
}

/** LinearMemory.view: a typed-array view of `length` elements at `address`. */
export function viewOf<T>(memory: BlockHost, type: TypedArrayConstructorOf<T>, address: number, length: number): T {
  requireSize(length, "LinearMemory.view", "length");
  const bytes = type.BYTES_PER_ELEMENT;
  requireRange(memory, address, length * bytes, "LinearMemory.view");
  if (address % bytes !== 0) {
    throw new TsmallocError(ErrorCode.InvalidPointer, `LinearMemory.view: address ${formatAddress(address)} is not aligned to ${bytes} bytes`, { address });
  }
  return new type(memory.buffer, address, length);
}

/** LinearMemory.bytes: the `length` bytes at `address` as a subarray. */
export function bytesOf(memory: BlockHost, address: number, length: number): Uint8Array {
  requireSize(length, "LinearMemory.bytes", "length");
  requireRange(memory, address, length, "LinearMemory.bytes");
  return memory.u8.subarray(address, address + length);
}

/** LinearMemory.fill: memset. */
export function fillBytes(memory: BlockHost, address: number, value: number, length: number): void {
  requireSize(length, "LinearMemory.fill", "length");
  if (!(typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= 255)) {
    throw new TsmallocError(ErrorCode.InvalidSize, `LinearMemory.fill: value must be a byte (0..255), got ${describeValue(value)}`);
  }
  requireRange(memory, address, length, "LinearMemory.fill");
  memory.u8.fill(value, address, address + length);
}

/** LinearMemory.copy: memmove. */
export function copyBytes(memory: BlockHost, target: number, source: number, length: number): void {
  requireSize(length, "LinearMemory.copy", "length");
  requireRange(memory, target, length, "LinearMemory.copy");
  requireRange(memory, source, length, "LinearMemory.copy");
  memory.u8.copyWithin(target, source, source + length);
}
