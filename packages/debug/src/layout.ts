/*
 * The block layout of CPython's debug hooks, and the helpers that read and write it. Every field
 * is SST bytes (`sizeof(size_t)`: 8 on 64-bit, 4 on wasm32; see debug-layout.ts), and the size
 * field is big-endian on every platform.
 *
 *   head          head+SST  head+SST+1      p = head+2*SST   tail = p+n       tail+SST
 *   | size n (BE) | id      | SST-1 x 0xFD  | n data bytes   | SST x 0xFD     | serial (BE, optional) |
 *
 * The hot paths go a 32-bit word at a time through an Int32Array of the same memory: over an
 * allocator whose blocks are 4-byte aligned, the header is two (SST 4) or four (SST 8) aligned
 * words, the id word reads 0xFDFDFD<id> in little-endian order, and the trailer is aligned
 * whenever the size is a multiple of 4 (otherwise it is read as two words shifted together, and
 * written a byte at a time). A block that is not 4-byte aligned, or a word that is not what it
 * should be, takes the byte-by-byte path, which finds the exact problem: the word checks only
 * decide that all is well, never what is wrong. On a big-endian machine (none that runs
 * JavaScript today) everything goes byte by byte.
 *
 * These functions are internal: they trust their caller to keep every index inside the memory.
 */
import { FORBIDDENBYTE } from "./constants.ts";

/** 2^32, to split a size or serial into two 32-bit halves. */
const TWO_32 = 4294967296;

/** True when typed-array words are little-endian, which the word paths assume. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Four FORBIDDENBYTEs as an Int32Array reads them. */
const FORBIDDEN_WORD = (FORBIDDENBYTE * 0x01010101) | 0;

/** Fills shorter than this many bytes are word stores in a loop; longer ones call fill(). */
const SHORT_FILL = 128;

/** The 32-bit word `x` with its bytes in the opposite order (big-endian <-> little-endian). */
function byteSwap(x: number): number {
  return ((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24);
}

/** The id word of a block, as an Int32Array reads it: the id byte, then three FORBIDDENBYTEs. */
function idWord(apiByte: number): number {
  return (FORBIDDEN_WORD & ~0xff) | apiByte;
}

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
 * Writes the 2 * SST-byte header of a block of `n` data bytes (below 2^32) at `head`: the size,
 * the API id byte and SST - 1 pad bytes. `i32` is the same memory as `u8`.
 */
export function writeHeader(u8: Uint8Array, i32: Int32Array, head: number, n: number, apiByte: number, sst: number): void {
  if (LITTLE_ENDIAN && (head & 3) === 0) {
    // size (BE), then the id word: four (SST 8) or two (SST 4) aligned stores
    const w = head >>> 2;
    if (sst === 8) {
      i32[w] = 0;
      i32[w + 1] = byteSwap(n);
      i32[w + 2] = idWord(apiByte);
      i32[w + 3] = FORBIDDEN_WORD;
    } else {
      i32[w] = byteSwap(n);
      i32[w + 1] = idWord(apiByte);
    }
    return;
  }
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

/**
 * Writes the SST trailing pad bytes at `tail`: one or two word stores when `tail` is 4-byte
 * aligned, else byte by byte (written out: this runs on every allocation).
 */
export function writeTrailer(u8: Uint8Array, i32: Int32Array, tail: number, sst: number): void {
  if (LITTLE_ENDIAN && (tail & 3) === 0) {
    const t = tail >>> 2;
    i32[t] = FORBIDDEN_WORD;
    if (sst === 8) i32[t + 1] = FORBIDDEN_WORD;
    return;
  }
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
 * Fills [start, end) with `byte`. `i32` is an Int32Array of the same memory. A short range is a
 * loop of word stores (a call into fill costs more than a few stores for the small blocks that
 * dominate), with bytes at its unaligned edges. A longer one calls fill: Uint8Array's on a
 * non-shared memory (a memset); on a shared memory (`shared`) V8 fills a Uint8Array byte by byte
 * with relaxed atomics, so the 4-aligned middle goes through the Int32Array, several times faster.
 */
export function fillBytes(u8: Uint8Array, i32: Int32Array, shared: boolean, start: number, end: number, byte: number): void {
  if (end - start < 8 || !LITTLE_ENDIAN) {
    for (let i = start; i < end; i++) u8[i] = byte;
    return;
  }
  if (end - start >= SHORT_FILL && !shared) {
    u8.fill(byte, start, end);
    return;
  }
  // bytes up to the first aligned word, whole words, bytes after the last one
  const first = (start + 3) >>> 2;
  const last = end >>> 2;
  for (let i = start; i < first * 4; i++) u8[i] = byte;
  const word = (byte * 0x01010101) | 0;
  if (last - first >= SHORT_FILL >>> 2) i32.fill(word, first, last);
  else for (let w = first; w < last; w++) i32[w] = word;
  for (let i = last * 4; i < end; i++) u8[i] = byte;
}

/**
 * Copies `count` bytes of the memory at `from` into a scratch buffer at byte `into` (a multiple
 * of 4): `scratch` and `scratchWords` are views of the same buffer. Word by word when `from` is
 * 4-byte aligned, which may read up to 3 bytes past the range (the caller guarantees they lie in
 * the memory) and copy them into the scratch past `into + count`; byte by byte otherwise.
 */
export function copyOut(u8: Uint8Array, i32: Int32Array, from: number, count: number, scratch: Uint8Array, scratchWords: Int32Array, into: number): void {
  if (LITTLE_ENDIAN && (from & 3) === 0) {
    const w = from >>> 2;
    const s = into >>> 2;
    const words = (count + 3) >>> 2;
    for (let i = 0; i < words; i++) scratchWords[s + i] = i32[w + i]!;
    return;
  }
  for (let i = 0; i < count; i++) scratch[into + i] = u8[from + i]!;
}

/**
 * Copies `count` bytes of the scratch buffer at byte `from` (a multiple of 4) into the memory at
 * `to`, exactly those bytes: whole words when `to` is 4-byte aligned, then the rest byte by byte.
 */
export function copyIn(u8: Uint8Array, i32: Int32Array, to: number, count: number, scratch: Uint8Array, scratchWords: Int32Array, from: number): void {
  let done = 0;
  if (LITTLE_ENDIAN && (to & 3) === 0) {
    const w = to >>> 2;
    const s = from >>> 2;
    const words = count >>> 2;
    for (let i = 0; i < words; i++) i32[w + i] = scratchWords[s + i]!;
    done = words * 4;
  }
  for (let i = done; i < count; i++) u8[to + i] = scratch[from + i]!;
}

/**
 * Checks the block whose data starts at `p`, in CPython's order: the API id (at p - SST), then
 * the leading pad bytes (p-1 .. p-(SST-1)), then the SST trailing pad bytes at p + n, where n is
 * the size in the header. Reads nothing outside `u8`: a size that puts the trailer past the end
 * is a bad trailing pad. The caller guarantees `2 * SST <= p <= u8.length`; `i32` is the same
 * memory as `u8`. Word-wide when `p` is 4-byte aligned, byte by byte once a word differs.
 *
 * @returns {@link BLOCK_OK} or the first problem found
 */
export function checkBlock(u8: Uint8Array, i32: Int32Array, p: number, apiByte: number, sst: number): number {
  if (LITTLE_ENDIAN && (p & 3) === 0 && wordsLookRight(i32, p, apiByte, sst, u8.length)) return BLOCK_OK;
  return checkBlockBytes(u8, p, apiByte, sst);
}

/**
 * The word-wide check of an aligned block: true when the id word, the leading pad, the size's
 * high half (SST 8) and the trailer are exactly as written. False says only that something
 * differs (or the trailer lies past `length`); the byte-by-byte check then says what.
 */
function wordsLookRight(i32: Int32Array, p: number, apiByte: number, sst: number, length: number): boolean {
  const w = p >>> 2;
  let n: number;
  if (sst === 8) {
    if (i32[w - 2] !== idWord(apiByte) || i32[w - 1] !== FORBIDDEN_WORD || i32[w - 4] !== 0) return false;
    n = byteSwap(i32[w - 3]!) >>> 0;
  } else {
    if (i32[w - 1] !== idWord(apiByte)) return false;
    n = byteSwap(i32[w - 2]!) >>> 0;
  }
  const tail = p + n;
  if (tail + sst > length) return false;
  const t = tail >>> 2;
  const shift = (tail & 3) << 3;
  if (shift === 0) return i32[t] === FORBIDDEN_WORD && (sst === 4 || i32[t + 1] === FORBIDDEN_WORD);
  // an unaligned trailer: each of its words is the top of one aligned word and the bottom of the
  // next (the words read lie inside the memory: its length is a multiple of 4)
  const low = (i32[t]! >>> shift) | (i32[t + 1]! << (32 - shift));
  if (sst === 4) return low === FORBIDDEN_WORD;
  const high = (i32[t + 1]! >>> shift) | (i32[t + 2]! << (32 - shift));
  return low === FORBIDDEN_WORD && high === FORBIDDEN_WORD;
}

/** {@link checkBlock} a byte at a time: what it does for an unaligned block, and what finds the problem. */
export function checkBlockBytes(u8: Uint8Array, p: number, apiByte: number, sst: number): number {
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
