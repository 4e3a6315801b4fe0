/*
 * CPython's `tracemalloc._format_size`, digit for digit. Python's `"%.1f"` and `"%.0f"` round
 * the exact binary value half to even (12.25 KiB is "12.2 KiB", an average of 2.5 B is "2 B");
 * `Number.prototype.toFixed` rounds ties away from zero, so the rounding is done here on the
 * double's exact value, with bigints.
 */

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"] as const;

/** Scratch for splitting a double into its bits (module constant: no state crosses calls). */
const bits = new DataView(new ArrayBuffer(8));

/**
 * `value` with `digits` decimals as Python's `"%.{digits}f"` (`"%+.{digits}f"` when `sign`)
 * writes it: the exact binary value rounded half to even, `-0` kept for a negative value that
 * rounds to zero. `value` must be finite.
 * @internal
 */
export function formatFixed(value: number, digits: number, sign: boolean): string {
  bits.setFloat64(0, value);
  const negative = bits.getUint8(0) >= 0x80;
  const high = bits.getUint32(0) & 0x7fff_ffff;
  const low = bits.getUint32(4);
  const biased = high >>> 20;
  // value = mantissa * 2^exponent, exactly
  let mantissa = (BigInt(high & 0xf_ffff) << 32n) | BigInt(low);
  let exponent: number;
  if (biased === 0) {
    exponent = -1074;
  } else {
    mantissa |= 1n << 52n;
    exponent = biased - 1075;
  }
  const scaled = mantissa * 10n ** BigInt(digits);
  let q: bigint;
  if (exponent >= 0) {
    q = scaled << BigInt(exponent);
  } else {
    const den = 1n << BigInt(-exponent);
    q = scaled / den;
    const twice = (scaled % den) * 2n;
    if (twice > den || (twice === den && (q & 1n) === 1n)) q += 1n;
  }
  let text = q.toString();
  if (digits > 0) {
    text = text.padStart(digits + 1, "0");
    text = `${text.slice(0, -digits)}.${text.slice(-digits)}`;
  }
  if (negative) return `-${text}`;
  return sign ? `+${text}` : text;
}

/**
 * A size in bytes as CPython's tracemalloc writes it (`_format_size`): `"10000 B"`,
 * `"97.7 KiB"`, `"1.5 MiB"`; with `sign`, a `+` or `-` in front (`"+97.7 KiB"`, `"+0 B"`).
 * Under 10 KiB in bytes; then in the first unit of KiB, MiB, GiB, TiB where it is under 100 with
 * one decimal, or under 10240 with none (TiB takes whatever is left).
 *
 * @param size bytes; any finite number (averages are fractions)
 * @param sign write the sign of a positive value too (the size differences of a comparison)
 * @returns the text; `String(size)` for a non-finite number
 */
export function formatSize(size: number, sign: boolean = false): string {
  if (!Number.isFinite(size)) return String(size);
  // sizes are integers in CPython, which has no -0: a difference of 0 is "+0 B"
  let value = size === 0 ? 0 : size;
  for (const unit of UNITS) {
    if (Math.abs(value) < 100 && unit !== "B") return `${formatFixed(value, 1, sign)} ${unit}`;
    if (Math.abs(value) < 10 * 1024 || unit === "TiB") return `${formatFixed(value, 0, sign)} ${unit}`;
    value /= 1024;
  }
  /* v8 ignore next: the loop always returns at TiB */
  return String(size);
}
