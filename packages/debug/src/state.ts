/*
 * The hooks' state block: 32 bytes that the hooks allocate from the allocator they wrap when they
 * are made, so that the facts every thread must agree on live in the memory itself. Another
 * worker opens them with DebugAllocator.attach(); a saved memory keeps them.
 *
 *   word 0  magic "DBGH"            word 4  owner thread token, low half
 *   word 1  layout version          word 5  owner thread token, high half
 *   word 2  API id byte             word 6  serial counter, low half (Atomics on shared memory)
 *   word 3  flags (bit 0: serials)  word 7  serial counter, high half
 */
import type { LinearMemory } from "@tsmalloc/memory";
import type { ThreadToken } from "./thread.ts";

/** Bytes of the state block. */
export const STATE_BYTES = 32;
/** "DBGH" read as a little-endian word. */
export const STATE_MAGIC = 0x48474244;
/** The layout version this build reads and writes. */
export const STATE_VERSION = 1;

/** Word index of the magic in the state block. */
export const S_MAGIC = 0;
/** Word index of the layout version. */
export const S_VERSION = 1;
/** Word index of the API id byte. */
export const S_API = 2;
/** Word index of the flags. */
export const S_FLAGS = 3;
/** Word index of the owner thread token's low half. */
export const S_OWNER_LOW = 4;
/** Word index of the owner thread token's high half. */
export const S_OWNER_HIGH = 5;
/** Word index of the serial counter's low half. */
export const S_SERIAL_LOW = 6;
/** Word index of the serial counter's high half. */
export const S_SERIAL_HIGH = 7;

/** Flag: blocks carry a serial number after the trailing pad. */
export const FLAG_SERIAL = 1;
/** Every flag this build knows. */
export const KNOWN_FLAGS: number = FLAG_SERIAL;

/** Writes a fresh state block at `address` (4-byte aligned); the magic goes last. */
export function writeState(memory: LinearMemory, address: number, apiByte: number, flags: number, owner: ThreadToken): void {
  const u32 = memory.u32;
  const w = address >>> 2;
  u32[w + S_VERSION] = STATE_VERSION;
  u32[w + S_API] = apiByte;
  u32[w + S_FLAGS] = flags;
  u32[w + S_OWNER_LOW] = owner.low;
  u32[w + S_OWNER_HIGH] = owner.high;
  u32[w + S_SERIAL_LOW] = 0;
  u32[w + S_SERIAL_HIGH] = 0;
  if (memory.shared) Atomics.store(memory.i32, w + S_MAGIC, STATE_MAGIC);
  else u32[w + S_MAGIC] = STATE_MAGIC;
}

/**
 * Takes the next serial number (1, 2, 3, ...) from the counter at word `w`, atomically on a
 * shared memory. The two halves are carried by whoever wraps the low half; a thread that
 * draws a number in the instant between a wrap and its carry can see the old high half, once
 * every 2^32 numbers.
 */
export function nextSerial(memory: LinearMemory, w: number): number {
  if (memory.shared) {
    const i32 = memory.i32;
    const low = (Atomics.add(i32, w + S_SERIAL_LOW, 1) + 1) >>> 0;
    const high = low === 0 ? Atomics.add(i32, w + S_SERIAL_HIGH, 1) + 1 : Atomics.load(i32, w + S_SERIAL_HIGH);
    return (high >>> 0) * 4294967296 + low;
  }
  const u32 = memory.u32;
  const low = (u32[w + S_SERIAL_LOW]! + 1) >>> 0;
  u32[w + S_SERIAL_LOW] = low;
  let high = u32[w + S_SERIAL_HIGH]!;
  if (low === 0) u32[w + S_SERIAL_HIGH] = ++high;
  return high * 4294967296 + low;
}
