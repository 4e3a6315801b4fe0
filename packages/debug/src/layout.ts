/*
 * The block layout of CPython's debug hooks on 64-bit, and the byte-level helpers that read and
 * write it. Everything here works on a Uint8Array of the whole memory and writes byte by byte, so
 * no block needs any alignment and the size field is big-endian on every platform.
 *
 *   head          head+8  head+9       p = head+16        tail = p+n     tail+8
 *   | size n (BE) | id    | 7 x 0xFD   | n data bytes     | 8 x 0xFD     | serial (BE, optional) |
 *
 * These functions are internal: they trust their caller to keep every index inside the memory.
 */
import { FORBIDDENBYTE, HEADER_BYTES, TRAILER_BYTES } from "./constants.ts";

/** 2^32, to split a size or serial into two 32-bit halves. */
const TWO_32 = 4294967296;

/** Problems {@link checkBlock} finds, in the order it looks for them. */
export const BLOCK_OK = 0;
/** The id byte is not the API id of the caller (also: a freed block, whose id reads 0xDD). */
export const BAD_ID = 1;
/** One of the 7 pad bytes before the data is not 0xFD: an underflow. */
export const BAD_LEADING_PAD = 2;
/** One of the 8 pad bytes after the data is not 0xFD, or lies outside the memory: an overflow. */
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

/** The upper 32 bits of the big-endian 8-byte word at `at`. */
export function readWordHigh(u8: Uint8Array, at: number): number {
  return ((u8[at]! << 24) | (u8[at + 1]! << 16) | (u8[at + 2]! << 8) | u8[at + 3]!) >>> 0;
}

/** The lower 32 bits of the big-endian 8-byte word at `at`. */
export function readWordLow(u8: Uint8Array, at: number): number {
  return ((u8[at + 4]! << 24) | (u8[at + 5]! << 16) | (u8[at + 6]! << 8) | u8[at + 7]!) >>> 0;
}

/** The big-endian 8-byte word at `at`, in full (for reports, where the size may be garbage). */
export function readWordBig(u8: Uint8Array, at: number): bigint {
  return (BigInt(readWordHigh(u8, at)) << 32n) | BigInt(readWordLow(u8, at));
}

/**
 * Writes the 16-byte header of a block of `n` data bytes at `head`: the size, the API id byte and
 * 7 pad bytes.
 */
export function writeHeader(u8: Uint8Array, head: number, n: number, apiByte: number): void {
  writeWord(u8, head, n);
  u8[head + 8] = apiByte;
  u8[head + 9] = FORBIDDENBYTE;
  u8[head + 10] = FORBIDDENBYTE;
  u8[head + 11] = FORBIDDENBYTE;
  u8[head + 12] = FORBIDDENBYTE;
  u8[head + 13] = FORBIDDENBYTE;
  u8[head + 14] = FORBIDDENBYTE;
  u8[head + 15] = FORBIDDENBYTE;
}

/** Writes the 8 trailing pad bytes at `tail`. */
export function writeTrailer(u8: Uint8Array, tail: number): void {
  u8[tail] = FORBIDDENBYTE;
  u8[tail + 1] = FORBIDDENBYTE;
  u8[tail + 2] = FORBIDDENBYTE;
  u8[tail + 3] = FORBIDDENBYTE;
  u8[tail + 4] = FORBIDDENBYTE;
  u8[tail + 5] = FORBIDDENBYTE;
  u8[tail + 6] = FORBIDDENBYTE;
  u8[tail + 7] = FORBIDDENBYTE;
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
 * Checks the block whose data starts at `p`, in CPython's order: the API id, then the leading pad
 * bytes (p-1 .. p-7), then the trailing pad bytes at p + n, where n is the size in the header.
 * Reads nothing outside `u8`: a size that puts the trailer past the end is a bad trailing pad.
 * The caller guarantees `HEADER_BYTES <= p <= u8.length`.
 *
 * @returns {@link BLOCK_OK} or the first problem found
 */
export function checkBlock(u8: Uint8Array, p: number, apiByte: number): number {
  if (u8[p - 8] !== apiByte) return BAD_ID;
  if (
    u8[p - 7] !== FORBIDDENBYTE ||
    u8[p - 6] !== FORBIDDENBYTE ||
    u8[p - 5] !== FORBIDDENBYTE ||
    u8[p - 4] !== FORBIDDENBYTE ||
    u8[p - 3] !== FORBIDDENBYTE ||
    u8[p - 2] !== FORBIDDENBYTE ||
    u8[p - 1] !== FORBIDDENBYTE
  ) {
    return BAD_LEADING_PAD;
  }
  const head = p - HEADER_BYTES;
  if (readWordHigh(u8, head) !== 0) return BAD_TRAILING_PAD;
  const tail = p + readWordLow(u8, head);
  if (tail + TRAILER_BYTES > u8.length) return BAD_TRAILING_PAD;
  if (
    u8[tail] !== FORBIDDENBYTE ||
    u8[tail + 1] !== FORBIDDENBYTE ||
    u8[tail + 2] !== FORBIDDENBYTE ||
    u8[tail + 3] !== FORBIDDENBYTE ||
    u8[tail + 4] !== FORBIDDENBYTE ||
    u8[tail + 5] !== FORBIDDENBYTE ||
    u8[tail + 6] !== FORBIDDENBYTE ||
    u8[tail + 7] !== FORBIDDENBYTE
  ) {
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
