/*
 * The hooks' state block: 32 bytes that the hooks allocate from the allocator they wrap when they
 * are made, so that the facts every thread must agree on live in the memory itself. Another
 * worker opens them with DebugAllocator.attach(); a saved memory keeps them.
 *
 *   word 0  magic "DBGH"                          word 4  owner thread token, low half
 *   word 1  layout version                        word 5  owner thread token, high half
 *   word 2  API id byte, flags << 8               word 6  a serial counter, low half
 *   word 3  address of the serial counter used    word 7  a serial counter, high half
 *           (0: serial numbers off)
 *
 * Words 6 and 7 are a counter (serial-counter.ts) that these hooks or others may draw from: the
 * memory's counter when these were the first hooks with serial numbers in it, or a new one.
 */
import type { LinearMemory } from "@tsmalloc/memory";
import type { ThreadToken } from "./thread.ts";

/** Bytes of the state block. */
export const STATE_BYTES = 32;
/** "DBGH" read as a little-endian word. */
export const STATE_MAGIC = 0x48474244;
/** The layout version this build reads and writes (2: one serial counter shared through word 3). */
export const STATE_VERSION = 2;

/** Word index of the magic in the state block. */
export const S_MAGIC = 0;
/** Word index of the layout version. */
export const S_VERSION = 1;
/** Word index of the API id byte (bits 0..7) and the flags (bits 8 and up). */
export const S_API_FLAGS = 2;
/** Word index of the address of the serial counter these hooks draw from. */
export const S_COUNTER = 3;
/** Word index of the owner thread token's low half. */
export const S_OWNER_LOW = 4;
/** Word index of the owner thread token's high half. */
export const S_OWNER_HIGH = 5;
/** Byte offset of the counter the state block can hold (words 6 and 7). */
export const STATE_COUNTER_OFFSET = 24;

/** Flag: blocks carry a serial number after the trailing pad. */
export const FLAG_SERIAL = 1;
/** Flag: blocks have the wasm32 layout (SST 4); without it, the 64-bit one (SST 8). */
export const FLAG_WASM32 = 2;
/** Every flag this build knows. */
export const KNOWN_FLAGS: number = FLAG_SERIAL | FLAG_WASM32;

/**
 * Writes a fresh state block at `address` (4-byte aligned) whose hooks draw serial numbers from
 * the counter at `counter` (0: none); the state block's own counter starts at 0; the magic goes
 * last.
 */
export function writeState(memory: LinearMemory, address: number, apiByte: number, flags: number, owner: ThreadToken, counter: number): void {
  const u32 = memory.u32;
  const w = address >>> 2;
  u32[w + S_VERSION] = STATE_VERSION;
  u32[w + S_API_FLAGS] = apiByte | (flags << 8);
  u32[w + S_COUNTER] = counter;
  u32[w + S_OWNER_LOW] = owner.low;
  u32[w + S_OWNER_HIGH] = owner.high;
  u32[w + STATE_COUNTER_OFFSET / 4] = 0;
  u32[w + STATE_COUNTER_OFFSET / 4 + 1] = 0;
  if (memory.shared) Atomics.store(memory.i32, w + S_MAGIC, STATE_MAGIC);
  else u32[w + S_MAGIC] = STATE_MAGIC;
}
