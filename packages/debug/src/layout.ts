/*
 * The block layout of CPython's debug hooks, and the byte-level helpers that read and write it.
 * Every field is SST bytes (`sizeof(size_t)`: 8 on 64-bit, 4 on wasm32; see debug-layout.ts).
 * Everything here works on a Uint8Array of the whole memory and writes byte by byte, so no block
 * needs any alignment and the size field is big-endian on every platform.
 *
 *   head          head+SST  head+SST+1      p = head+2*SST   tail = p+n       tail+SST
 *   | size n (BE) | id      | SST-1 x 0xFD  | n data bytes   | SST x 0xFD     | serial (BE, optional) |
 *
 * These functions are internal: they trust their caller to keep every index inside the memory.
 */
import { FORBIDDENBYTE } from "./constants.ts";

/** 2^32, to split a size or serial into two 32-bit halves. */
const TWO_32 = 4294967296;

/** Problems {@link checkBlock} finds, in the order it looks for them. */
export const BLOCK_OK = 0;
/** The id byte is not the API id of the caller (also: a freed block, whose id reads 0xDD). */
export const BAD_ID = 1;
/** One of the SST - 1 pad bytes before the data is not 0xFD: an underflow. */
export const BAD_LEADING_PAD = 2;
/** One of the SST pad bytes after the data is not 0xFD, or lies outside the memory: an overflow. */
export const BAD_TRAILING_PAD = 3;

/** Writes `value` (an integer below 2^53) as a big-endian 8-byte word at `at`. */
export function writeWord(u8: Uint8Array, at: number, value: number): void {
  const high = (value / TWO_32) >>> 0;
  const low = value >>> 0;
  u8[at] = high >>> 24;
  u8[at + 1] = high >>> 16;
  u8[at + 2] = high >>> 8;
  u8[at + 3] = high;
  u8[at + 4] = low >>> 24;
  u8[at + 5] = low >>> 16;
  u8[at + 6] = low >>> 8;
  u8[at + 7] = low;
}

/** The big-endian 32-bit word at `at`. */
export function read32(u8: Uint8Array, at: number): number {
  return ((u8[at]! << 24) | (u8[at + 1]! << 16) | (u8[at + 2]! << 8) | u8[at + 3]!) >>> 0;
}

/** The upper 32 bits of the big-endian 8-byte word at `at`. */
export function readWordHigh(u8: Uint8Array, at: number): number {
  return read32(u8, at);
}

/** The lower 32 bits of the big-endian 8-byte word at `at`. */
export function readWordLow(u8: Uint8Array, at: number): number {
  return read32(u8, at + 4);
}

/** The big-endian 8-byte word at `at`, in full (for reports, where the size may be garbage). */
export function readWordBig(u8: Uint8Array, at: number): bigint {
  return (BigInt(readWordHigh(u8, at)) << 32n) | BigInt(readWordLow(u8, at));
}

/** The big-endian field of `sst` bytes at `at`, in full (for reports). */
export function readFieldBig(u8: Uint8Array, at: number, sst: number): bigint {
  return sst === 8 ? readWordBig(u8, at) : BigInt(read32(u8, at));
}

/** The requested size in the header at `head` (its low 32 bits when SST is 8: checkBlock vouched for the rest). */
export function readSize(u8: Uint8Array, head: number, sst: number): number {
  return read32(u8, head + sst - 4);
}

/**
 * Writes `value` as a big-endian field of `sst` bytes at `at`: all of it when SST is 8 (`value`
 * below 2^53), its low 32 bits when SST is 4 (a 32-bit `size_t` wraps the same way).
 */
export function writeField(u8: Uint8Array, at: number, value: number, sst: number): void {
  if (sst === 8) {
    writeWord(u8, at, value);
    return;
  }
  const low = value >>> 0;
  u8[at] = low >>> 24;
  u8[at + 1] = low >>> 16;
  u8[at + 2] = low >>> 8;
  u8[at + 3] = low;
}

/**
 * Writes the 2 * SST-byte header of a block of `n` data bytes at `head`: the size, the API id
 * byte and SST - 1 pad bytes.
 */
export function writeHeader(u8: Uint8Array, head: number, n: number, apiByte: number, sst: number): void {
  writeField(u8, head, n, sst);
  // the pad ends where the data starts: p-1, p-2, p-3 in both layouts, p-4 .. p-7 with SST 8
  const p = head + 2 * sst;
  u8[p - sst] = apiByte;
  u8[p - 1] = FORBIDDENBYTE;
  u8[p - 2] = FORBIDDENBYTE;
  u8[p - 3] = FORBIDDENBYTE;
  if (sst === 8) {
    u8[p - 4] = FORBIDDENBYTE;
    u8[p - 5] = FORBIDDENBYTE;
    u8[p - 6] = FORBIDDENBYTE;
    u8[p - 7] = FORBIDDENBYTE;
  }
}

/** Writes the SST trailing pad bytes at `tail` (written out: this runs on every allocation). */
export function writeTrailer(u8: Uint8Array, tail: number, sst: number): void {
  u8[tail] = FORBIDDENBYTE;
  u8[tail + 1] = FORBIDDENBYTE;
  u8[tail + 2] = FORBIDDENBYTE;
  u8[tail + 3] = FORBIDDENBYTE;
  if (sst === 8) {
    u8[tail + 4] = FORBIDDENBYTE;
    u8[tail + 5] = FORBIDDENBYTE;
    u8[tail + 6] = FORBIDDENBYTE;
    u8[tail + 7] = FORBIDDENBYTE;
  }
}

/**
 * Fills [start, end) with `byte`. `u32` is null for a non-shared memory, where Uint8Array's fill
 * is the fastest; on a shared memory V8 fills byte by byte (with relaxed atomics), so the
 * 4-aligned middle goes through a Uint32Array view of the same memory, several times faster.
 */
export function fillBytes(u8: Uint8Array, u32: Uint32Array | null, start: number, end: number, byte: number): void {
  if (end - start <= 16) {
    // a call into fill costs more than a few stores for the small blocks that dominate
    for (let i = start; i < end; i++) u8[i] = byte;
    return;
  }
  if (u32 === null) {
    u8.fill(byte, start, end);
    return;
  }
  const first = Math.ceil(start / 4);
  const last = Math.floor(end / 4);
  for (let i = start; i < first * 4; i++) u8[i] = byte;
  u32.fill((byte * 0x01010101) >>> 0, first, last);
  for (let i = last * 4; i < end; i++) u8[i] = byte;
}

/**
 * Checks the block whose data starts at `p`, in CPython's order: the API id (at p - SST), then
 * the leading pad bytes (p-1 .. p-(SST-1)), then the SST trailing pad bytes at p + n, where n is
 * the size in the header. Reads nothing outside `u8`: a size that puts the trailer past the end
 * is a bad trailing pad. The caller guarantees `2 * SST <= p <= u8.length`.
 *
 * @returns {@link BLOCK_OK} or the first problem found
 */
export function checkBlock(u8: Uint8Array, p: number, apiByte: number, sst: number): number {
  if (u8[p - sst] !== apiByte) return BAD_ID;
  // written out rather than looped: this runs on every free and realloc
  if (u8[p - 1] !== FORBIDDENBYTE || u8[p - 2] !== FORBIDDENBYTE || u8[p - 3] !== FORBIDDENBYTE) return BAD_LEADING_PAD;
  if (sst === 8 && (u8[p - 4] !== FORBIDDENBYTE || u8[p - 5] !== FORBIDDENBYTE || u8[p - 6] !== FORBIDDENBYTE || u8[p - 7] !== FORBIDDENBYTE)) {
    return BAD_LEADING_PAD;
  }
  const head = p - 2 * sst;
  // a 64-bit size of 2^32 or more puts the trailer past any memory
  if (sst === 8 && readWordHigh(u8, head) !== 0) return BAD_TRAILING_PAD;
  const tail = p + readSize(u8, head, sst);
  if (tail + sst > u8.length) return BAD_TRAILING_PAD;
  if (u8[tail] !== FORBIDDENBYTE || u8[tail + 1] !== FORBIDDENBYTE || u8[tail + 2] !== FORBIDDENBYTE || u8[tail + 3] !== FORBIDDENBYTE) return BAD_TRAILING_PAD;
  if (sst === 8 && (u8[tail + 4] !== FORBIDDENBYTE || u8[tail + 5] !== FORBIDDENBYTE || u8[tail + 6] !== FORBIDDENBYTE || u8[tail + 7] !== FORBIDDENBYTE)) {
    return BAD_TRAILING_PAD;
  }
  return BLOCK_OK;
}

/** The message of each problem, as CPython's fatal error words it (bad ID has its own). */
export function problemMessage(problem: number): string {
  return problem === BAD_LEADING_PAD ? "bad leading pad byte" : "bad trailing pad byte";
}

/**
 * How an id byte reads in a report: the character when it is printable ASCII (`m`), otherwise
 * the byte escaped as Python writes it (`\xdd`).
 */
export function formatApiByte(byte: number): string {
  return byte >= 0x20 && byte <= 0x7e ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, "0")}`;
}
