/*
 * Serial numbers: CPython's `serialno`, one counter that every debug malloc and realloc bumps, so
 * that "call #N" names one call of the whole process. Here a counter is 8 bytes in the memory
 * (the low 32-bit word, then the high one), which every hooks that draw from it share, in every
 * worker:
 *
 * - the memory's counter (the default): the first hooks with serial numbers made in a memory keep
 *   it in their state block and record its address in the memory's root table under "dbsn"; all
 *   later hooks in that memory draw from it;
 * - a new counter ("new"): kept in the hooks' own state block, for a family of hooks that counts on
 *   its own (a registry runtime: its first hooks make one, the others are given its address);
 * - an address: the counter other hooks made (their `serialCounter`).
 *
 * Two workers that each make the first serial-numbered hooks of one shared memory at the same
 * instant may each record a counter (the root table has no compare-and-set); the later one wins
 * the root, and hooks made after it share that one.
 */
import { isAddress, type LinearMemory } from "@tsmalloc/memory";
import { optionError } from "./errors.ts";

/** Bytes of a serial counter in the memory: two 32-bit words, the low half first. */
export const SERIAL_COUNTER_BYTES = 8;

/** The root-table tag under which a memory records the address of its serial counter. */
export const SERIAL_COUNTER_ROOT = "dbsn";

/**
 * Which counter hooks with serial numbers draw from (option `serialCounter`): `"memory"`, the
 * memory's one counter; `"new"`, a counter of their own that other hooks may share; or the
 * address of a counter other hooks made (their {@link DebugAllocator.serialCounter}).
 */
export type SerialCounterChoice = "memory" | "new" | number;

/** True when `value` is a valid choice of counter (an address is checked against the memory later). @internal */
export function isSerialCounterChoice(value: unknown): value is SerialCounterChoice {
  return value === "memory" || value === "new" || (isAddress(value) && value !== 0 && value % 4 === 0);
}

/**
 * Throws unless a counter at `address` fits in `memory`: 4-byte aligned, not 0, and its 8 bytes
 * inside the memory. @internal
 */
export function requireCounterInMemory(memory: LinearMemory, address: number, fn: string): void {
  if (!(isAddress(address) && address !== 0 && address % 4 === 0 && address + SERIAL_COUNTER_BYTES <= memory.byteLength)) {
    throw optionError(fn, "serialCounter must be the address of an 8-byte counter inside the memory (another hooks' serialCounter)", address);
  }
}

/**
 * The memory's counter, or 0 when no hooks have made it yet. A recorded address that cannot be a
 * counter (a damaged root table) counts as none. @internal
 */
export function memorySerialCounter(memory: LinearMemory): number {
  const address = memory.getRoot(SERIAL_COUNTER_ROOT);
  return address !== 0 && address % 4 === 0 && address + SERIAL_COUNTER_BYTES <= memory.byteLength ? address : 0;
}

/** Records `address` as the memory's counter. @internal */
export function recordMemorySerialCounter(memory: LinearMemory, address: number): void {
  // a full root table (24 slots) leaves the counter unrecorded: later hooks then make their own
  memory.setRoot(SERIAL_COUNTER_ROOT, address);
}

/**
 * Takes the next serial number (1, 2, 3, ...) from the counter at word `w`, atomically on a
 * shared memory. The two halves are carried by whoever wraps the low half; a thread that
 * draws a number in the instant between a wrap and its carry can see the old high half, once
 * every 2^32 numbers.
 * @internal
 */
export function nextSerial(memory: LinearMemory, w: number): number {
  if (memory.shared) {
    const i32 = memory.i32;
    const low = (Atomics.add(i32, w, 1) + 1) >>> 0;
    const high = low === 0 ? Atomics.add(i32, w + 1, 1) + 1 : Atomics.load(i32, w + 1);
    return (high >>> 0) * 4294967296 + low;
  }
  const u32 = memory.u32;
  const low = (u32[w]! + 1) >>> 0;
  u32[w] = low;
  let high = u32[w + 1]!;
  if (low === 0) u32[w + 1] = ++high;
  return high * 4294967296 + low;
}
