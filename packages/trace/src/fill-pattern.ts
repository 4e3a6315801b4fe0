/*
 * The bytes a verified replay writes into each block and checks later: one byte per block,
 * derived from its id, never 0 (so that a missing fill shows, and calloc's zeroes differ from
 * it), and different for neighbouring ids.
 */

/** The fill byte of block `id`: `(id % 251) + 1`, in 1..251. */
export function patternByte(id: number): number {
  return (id % 251) + 1;
}

/**
 * The index of the first byte in `u8[p, p + n)` that is not `value`, or -1 when all are. Reads a
 * word at a time over the 4-aligned middle; works for addresses at and above 2^31.
 */
export function findMismatch(u8: Uint8Array, p: number, n: number, value: number): number {
  let i = p;
  const end = p + n;
  const aligned = Math.min(end, i + ((4 - (i & 3)) & 3)); // no `& ~3`: addresses reach 2^32
  for (; i < aligned; i++) if (u8[i] !== value) return i;
  if (end - i >= 4) {
    const words = new Uint32Array(u8.buffer, u8.byteOffset + i, (end - i) >>> 2);
    const expected = (value * 0x01010101) >>> 0;
    for (let w = 0; w < words.length; w++) {
      if (words[w] !== expected) {
        for (let j = i + w * 4; j < i + w * 4 + 4; j++) if (u8[j] !== value) return j;
      }
    }
    i += words.length * 4;
  }
  for (; i < end; i++) if (u8[i] !== value) return i;
  return -1;
}
